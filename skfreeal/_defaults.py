"""``set_params`` that reaches into default components (``noise_filter__threshold`` on None)."""

__all__ = ["DefaultComponentsMixin"]


class DefaultComponentsMixin:
    """Build a default component when one of its own parameters is set.

    An estimator whose component parameters default to None (or to a name,
    such as ``judge="probe"``) builds the component in ``fit``. Setting one
    of that component's parameters (``noise_filter__threshold=0.8``, as a
    grid search does) first puts the built-in object in the default's
    place, so that nested parameters work on the defaults too; a new object
    each time, never one shared between estimators. Subclasses say what
    each shortcut stands for in :meth:`_default_component`.
    """

    @staticmethod
    def _default_component(name, value):
        """The built-in object ``value`` stands for as parameter ``name``, or None."""
        return None

    def set_params(self, **params):
        """Set the parameters of this estimator and of its components.

        As :meth:`sklearn.base.BaseEstimator.set_params`. A component's own
        parameter set while the component is a default (None, or a name) is
        set on a new built-in object that takes the default's place.

        Parameters
        ----------
        **params : dict
            Estimator parameters, and ``<component>__<parameter>`` ones.

        Returns
        -------
        self : estimator

        Raises
        ------
        ValueError
            For a component's parameter while the component has no object
            to set it on, naming both.
        """
        own = self.get_params(deep=False)
        for name in {key.partition("__")[0] for key in params if "__" in key}:
            value = params.get(name, own.get(name))
            if name not in own or hasattr(value, "set_params"):
                continue  # scikit-learn's own error for unknown names
            built = self._default_component(name, value)
            if built is None:
                raise ValueError(
                    f"Cannot set the parameters {sorted(k for k in params if k.startswith(name))}"
                    f": {name}={value!r} has no parameters of its own; pass the component "
                    f"itself as {name} and set them there.")
            params[name] = built
        return super().set_params(**params)
