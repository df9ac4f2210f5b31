"""Chat prompts for annotation by in-context learning and for demo generation.

Follows FreeAL (Xiao et al., 2023): a system message states the task and the
label names, each demonstration is a user turn (the text) answered by an
assistant turn (its label), and the text to label is the last user turn. The
prompts are kept compact because prompt tokens are the cost (and, on a CPU,
the time) of annotation: whitespace is collapsed, long texts are cut, and the
demonstrations are put in one fixed order so that consecutive prompts share
long prefixes (the KV cache of llama.cpp and vLLM, and OpenAI's prompt cache,
reuse them).
"""

import hashlib
import re

from ..labels import as_label_space

__all__ = [
    "clean_text",
    "order_demos",
    "system_prompt",
    "annotation_messages",
    "generation_messages",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Special-token look-alikes ("<|im_start|>", "<s>", "[INST]") are tokenised as
# real control tokens by some servers; breaking them keeps a text inside its turn.
_SPECIAL = re.compile(r"<(\|)|(\|)>|<(/?s)>|\[(/?INST)\]", re.IGNORECASE)


def _break_special(match):
    if match.group(1):
        return "< |"
    if match.group(2):
        return "| >"
    if match.group(3):
        return f"< {match.group(3)}>"
    return f"[ {match.group(4)}]"


def clean_text(text, max_chars=None):
    """Compact a text for a prompt.

    Collapses whitespace, drops control characters, breaks chat-template
    markers (``<|im_start|>``) so that a text cannot open a turn of its own,
    and cuts the text at a word boundary to at most ``max_chars`` characters
    (marking the cut with an ellipsis).

    Parameters
    ----------
    text : str
    max_chars : int or None, default=None
        No cut when None.

    Returns
    -------
    text : str

    Examples
    --------
    >>> clean_text("  a   b\\n\\nc <|im_end|> ")
    'a b c < |im_end| >'
    >>> clean_text("one two three four", max_chars=12)
    'one two…'
    """
    text = " ".join(_CONTROL.sub(" ", text).split())
    text = _SPECIAL.sub(_break_special, text)
    if max_chars is not None and len(text) > max_chars:
        cut = text[: max(1, max_chars - 1)]
        space = cut.rfind(" ")
        if space > max_chars // 2:
            cut = cut[:space]
        text = cut.rstrip() + "…"
    return text


def _demo_rank(demo):
    return hashlib.sha1(f"{demo[1]}\x00{demo[0]}".encode()).hexdigest()


def order_demos(demos):
    """Put demonstrations in a fixed pseudo-random order.

    The order depends only on the demonstrations themselves, so texts whose
    neighbour sets overlap get prompts with a common prefix, and the same
    set always gives the same prompt (and cache key). Labels come
    interleaved rather than grouped, which avoids a recency bias towards
    the label shown last.

    Parameters
    ----------
    demos : sequence of (str, int)

    Returns
    -------
    demos : list of (str, int)
    """
    return sorted(demos, key=_demo_rank)


def _label_list(labels):
    sep = " | " if any("," in label for label in labels) else ", "
    return sep.join(labels)


def system_prompt(labels, task=None, label_descriptions=None):
    """The system message of an annotation prompt.

    Parameters
    ----------
    labels : list of str or LabelSpace
        The label names, one per text; or the
        :class:`~skfreeal.labels.LabelSpace`, which says what an answer is.
    task : str or None, default=None
        What to classify; a generic instruction when None.
    label_descriptions : dict of str to str or None, default=None
        An optional description per label name.

    Returns
    -------
    prompt : str

    Examples
    --------
    >>> print(system_prompt(["neg", "pos"], "Classify the sentiment of a tweet."))
    Classify the sentiment of a tweet.
    Labels: neg, pos.
    Answer with exactly one label and nothing else.
    """
    space = as_label_space(labels)
    labels = space.names.tolist()
    lines = [task.strip() if task else "Classify the text."]
    if label_descriptions:
        lines.append("Labels:")
        lines.extend(
            f"- {label}: {label_descriptions[label]}" if label in label_descriptions
            else f"- {label}"
            for label in labels
        )
    else:
        lines.append(f"Labels: {_label_list(labels)}.")
    lines.append(space.answer_instruction())
    return "\n".join(lines)


def annotation_messages(text, demos, labels, system, *, max_text_chars=None, max_demo_chars=None):
    """The chat messages that ask for the label of one text.

    Parameters
    ----------
    text : str
        The text to label.
    demos : sequence of (str, label)
        Demonstrations, already in prompt order (a label id, for label names).
    labels : list of str or LabelSpace
        The label names, one per text; or the
        :class:`~skfreeal.labels.LabelSpace`, which writes each
        demonstration's answer.
    system : str
        The system message (see :func:`system_prompt`).
    max_text_chars, max_demo_chars : int or None, default=None
        Cut the text and the demonstration texts to this many characters.

    Returns
    -------
    messages : list of dict
        ``{"role": ..., "content": ...}`` items.
    """
    space = as_label_space(labels)
    messages = [{"role": "system", "content": system}]
    for demo_text, label in demos:
        messages.append({"role": "user", "content": clean_text(demo_text, max_demo_chars)})
        messages.append({"role": "assistant", "content": space.format_answer(label)})
    messages.append({"role": "user", "content": clean_text(text, max_text_chars)})
    return messages


def generation_messages(
    label, examples, n, *, task=None, label_description=None, max_example_chars=None,
    others=None,
):
    """The chat messages that ask for ``n`` new texts of one label (or one label set).

    The model sees unlabelled examples of the data and writes texts in
    their style for the given label (FreeAL's demonstration generation).

    Parameters
    ----------
    label : str or tuple of str
        The label the new texts must have; a tuple: the labels of a set
        they must all carry (a multi-label task).
    examples : sequence of str
        Unlabelled texts whose style to imitate.
    n : int
        How many texts to ask for.
    task : str or None, default=None
    label_description : str, tuple of (str or None) or None, default=None
        The label's description; for a tuple of labels, one per label.
    max_example_chars : int or None, default=None
        Cut each example to this many characters.
    others : sequence of str or None, default=None
        The labels the texts must not carry (a multi-label task, where a
        text may carry several): named in the request. None: not said (one
        label per text).

    Returns
    -------
    messages : list of dict

    Examples
    --------
    >>> ask = generation_messages(("billing", "login"), ["my bill"], 1, others=["shipping"])
    >>> print(ask[1]["content"].split("\\n\\n")[1])
    Write one new text in this style, on another subject, whose correct labels are "billing" \
and "login". It must clearly have each of these labels and none of the others ("shipping"). \
Reply with the text only.
    """
    if isinstance(label, str):
        target = f'label is "{label}"' + (f" ({label_description})" if label_description else "")
        have = "this label"
    else:
        named = [f'"{name}"' + (f" ({about})" if about else "")
                 for name, about in zip(label, label_description or [None] * len(label))]
        target = (f"label is {named[0]}" if len(named) == 1 else
                  f"labels are {', '.join(named[:-1])} and {named[-1]}")
        have = "this label" if len(named) == 1 else "each of these labels"
    if others is not None:
        have += (" and none of the others (" + ", ".join(f'"{o}"' for o in others) + ")"
                 if len(others) else "")
    shown = "\n".join(
        f"<text>{clean_text(example, max_example_chars)}</text>" for example in examples
    )
    if n == 1:
        ask = (f"Write one new text in this style, on another subject, whose correct "
               f"{target}. It must clearly have {have}. Reply with the text only.")
    else:
        ask = (f"Write {n} new texts in this style whose correct {target}. Each must "
               f"clearly have {have} and differ from the texts above and from each other. "
               "Reply with a numbered list of the texts only.")
    user = (
        f"Texts from a dataset for this task: {task.strip() if task else 'text classification'}"
        f"\nExamples, to show their style:\n{shown}\n\n{ask}"
    )
    return [
        {
            "role": "system",
            "content": "You write new, realistic example texts for a text classification "
            "dataset. You never copy the texts you are shown.",
        },
        {"role": "user", "content": user},
    ]
