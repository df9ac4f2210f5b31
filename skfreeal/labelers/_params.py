"""The parameters every labeler shares, declared once in ``BaseLabeler.__init__``.

scikit-learn reads an estimator's parameters from the signature of its
``__init__`` (``get_params``, ``set_params``, ``clone``, ``repr``) and refuses
``*args``; a ``**kwargs`` it ignores, so a subclass that forwarded the shared
parameters through ``**kwargs`` would lose them from ``get_params``. Writing
all sixteen again in each backend's signature kept scikit-learn happy at the
price of three copies of the list.

:func:`inherits_params` keeps the list in one place without changing what
scikit-learn sees. A subclass writes its own parameters and ends with
``**base_params``, which it forwards to ``super().__init__``; the decorator
sets the function's ``__signature__`` (honoured by :func:`inspect.signature`,
hence by scikit-learn and by Sphinx) to its own parameters followed by the
base class's, so every parameter is listed with its default and no
``**kwargs`` shows. A subclass that wants another default for a shared
parameter names it among its own (``LocalLabeler`` has ``max_concurrency=1``);
it keeps its place in the base class's order. The function itself is not
wrapped: the call goes straight to the subclass's ``__init__``, and an
unknown keyword is refused by ``BaseLabeler.__init__``.

A labeler also takes its backend's settings as parameters of its own
(``OpenAILabeler``'s ``timeout``, ``batch``...). Their names and defaults are
declared once, in the backend's signature: :func:`defaults_of` reads them,
``inherits_params(..., settings=...)`` shows them after the subclass's own
parameters, and the subclass's ``__init__`` stores each one under its name.
"""

import inspect

__all__ = ["defaults_of", "inherits_params"]


def defaults_of(cls, names):
    """The defaults of the parameters ``names`` of ``cls.__init__``.

    Parameters
    ----------
    cls : type
    names : iterable of str

    Returns
    -------
    defaults : dict of str to object
        In the order of ``names``.
    """
    params = inspect.signature(cls).parameters
    return {name: params[name].default for name in names}


def inherits_params(base, *, settings=None):
    """Make an ``__init__(..., **base_params)`` show the parameters of ``base.__init__`` too.

    Parameters
    ----------
    base : type
        The class whose ``__init__`` receives ``**base_params``.
    settings : dict of str to object, default=None
        More keyword parameters (name to default) the subclass takes through
        ``**base_params`` and stores itself, shown after its own: a
        backend's settings (see :func:`defaults_of`).

    Returns
    -------
    decorate : callable
        Sets ``__signature__`` of the decorated ``__init__`` and returns it.

    Examples
    --------
    >>> import inspect
    >>> class Base:
    ...     def __init__(self, *, a=1, b=2):
    ...         self.a, self.b = a, b
    >>> class Child(Base):
    ...     @inherits_params(Base)
    ...     def __init__(self, c=0, *, b=5, **base_params):
    ...         super().__init__(b=b, **base_params)
    ...         self.c = c
    >>> inspect.signature(Child)
    <Signature (c=0, *, a=1, b=5)>
    """

    def decorate(init):
        own = inspect.signature(init)
        params = list(own.parameters.values())
        if not params or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
            raise TypeError(
                f"{init.__qualname__} must end with **kwargs, which it forwards to "
                f"{base.__name__}.__init__; got the signature {own}."
            )
        *params, _ = params
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
                   for name, default in (settings or {}).items()]
        mine = {p.name: p for p in params}
        inherited = [p for name, p in inspect.signature(base.__init__).parameters.items()
                     if name != "self"]
        shared = [mine.get(p.name, p) for p in inherited]
        shared_names = {p.name for p in shared}
        init.__signature__ = own.replace(
            parameters=[p for p in params if p.name not in shared_names] + shared
        )
        return init

    return decorate
