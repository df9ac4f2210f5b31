"""Turn an LLM's free-text answer into a label id, a confidence, or demo texts.

Everything here is a pure function of the *answer* (never of the input text),
so a text that tries prompt injection can at most change what the model says,
not how it is read. The rule is "exactly one label or abstain": an answer is
mapped to a label only when it names one label unambiguously; anything else
gives ``-1``.
"""

import json
import re
import unicodedata

from .._validation import label_key

__all__ = [
    "ABSTAIN",
    "parse_label",
    "parse_structured_label",
    "parse_generated_texts",
    "mentioned_labels",
    "talks_about_task",
]

ABSTAIN = -1

# A label mention preceded (within a few words of the same sentence) by one of
# these is negated: "not positive" must never be read as "positive", while the
# "No." that answers a question before it does not negate it.
_NEGATIONS = re.compile(
    r"\b(?:not|no|never|neither|nor|without|non|isn't|isnt|wasn't|aren't|doesn't|don't|"
    r"cannot|can't|hardly|rather than|instead of)[^\w.!?\n]+(?:\w+[^\w.!?\n]+){0,2}$",
    re.IGNORECASE,
)
# A label mention answered with a rejection is rejected too: "Positive: No",
# "Is it positive? No.", "Positive: 0%", "positive? Not really." (the field
# separator and a rejection that stands alone as the field's value are both
# needed: "Positive - no doubt" and "Positive? No doubt." stay positive).
_REJECTED_AFTER = re.compile(
    r"^[\s*_\"'`]*[:?=][\s*_\"'`]*(?:no|nope|not really|not at all|false|"
    r"0(?:\.0+)?(?!\.?\d)\s*%?)[\s*_\"'`]*(?:[.,;!\n]|$)",
    re.IGNORECASE,
)
# What may precede a label for it to count as the answer's first word:
# quotes, markdown, and a short "Label:" / "The answer is:" lead-in.
_LEAD_IN = re.compile(r"^[\W_]*(?:(?:\w+[ \t]+){0,3}\w+[ \t]*:[\W_]*)?$")
# What may follow that first label: the end, or a sentence/field break.
# A full stop followed by a digit is a decimal point: "3.5" does not answer "3".
_TERMINATOR = re.compile(
    r"^(?:[\s\"'`*_)\]}]*$|[\s\"'`*_)\]}]*(?:\.(?!\d)|[!;:,\n(\[])|\s+[-–—]\s)"
)
# What may stand between two labels listed as alternatives: "a, b", "a / b", "a or b".
# Within one sentence: "Negative.\n\nPositive aspects are few." lists nothing.
_SEPARATORS = r"[ \t,;/|&\"'`*_()\[\]-]*"
_LISTED = re.compile(rf"^{_SEPARATORS}(?:(?:or|and|vs\.?|versus){_SEPARATORS})?$", re.IGNORECASE)


def _answer_form(text, mention):
    """Whether a mention stands as an answer of its own: alone on its line (after a lead-in)."""
    start, end, _ = mention
    line_start = text.rfind("\n", 0, start) + 1
    return bool(_LEAD_IN.match(text[line_start:start]) and _TERMINATOR.match(text[end:]))


def _another_answer(text, first, kept):
    """A different label given as a second answer: on its own line, or listed beside the first."""
    return any(
        m[2] != first[2] and m[0] >= first[1]
        and (_answer_form(text, m) or _LISTED.match(text[first[1]:m[0]]))
        for m in kept
    )


def _words(label):
    return re.findall(r"[^\W_]+", label.lower())


def _label_pattern(label):
    words = [w for w in _words(label) if w != "and"] or _words(label)
    if not words:  # a label of symbols only, e.g. ":)"
        return re.compile(re.escape(label.strip()))
    # Words may be joined by any separators, and "&" may be written "and".
    sep = r"(?:[\W_]+(?:and[\W_]+)?)"
    body = sep.join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def _mentions(answer, labels):
    """Every (start, end, label id) match, without those nested in a longer one."""
    found = []
    for i, label in enumerate(labels):
        found.extend((m.start(), m.end(), i) for m in _label_pattern(label).finditer(answer))
    return [
        (s, e, i)
        for s, e, i in found
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in found)
    ]


def parse_label(answer, labels):
    """Map an answer to exactly one label id, or abstain.

    Tolerates case, punctuation, quotes and markdown, a lead-in such as
    ``"Label:"``, and a label written inside a sentence. Labels nested in
    longer ones (``"positive"`` in ``"not positive"``) and negated mentions
    (``"not positive"`` when that is no label) are handled so that the
    answer is never read as a wrong label.

    Parameters
    ----------
    answer : str or None
        The model's answer.
    labels : sequence of str
        The label names.

    Returns
    -------
    label_id : int
        Index into ``labels``, or ``-1`` (abstain) when the answer names no
        label, several labels, or negates the one it names (before it,
        "not positive", or after it, "Positive: No").
    span : tuple of (int, int) or None
        Where the chosen label is written in ``answer``.

    Examples
    --------
    >>> parse_label("**Positive.**", ["negative", "positive"])
    (1, (2, 10))
    >>> parse_label("It is not positive", ["negative", "positive"])[0]
    -1
    >>> parse_label("It is not positive", ["positive", "not positive"])[0]
    1
    >>> parse_label("negative\\npositive", ["negative", "positive"])[0]
    -1
    """
    if not answer or not answer.strip():
        return ABSTAIN, None
    # NFKC folds full-width letters and ligatures; keep offsets valid by
    # parsing the folded text only when it has the same length.
    folded = unicodedata.normalize("NFKC", answer)
    text = folded if len(folded) == len(answer) else answer
    mentions = sorted(_mentions(text, labels))
    if not mentions:
        return ABSTAIN, None
    kept = [m for m in mentions
            if not _NEGATIONS.search(text[: m[0]]) and not _REJECTED_AFTER.match(text[m[1]:])]
    first = mentions[0]
    if first in kept and _LEAD_IN.match(text[: first[0]]) and _TERMINATOR.match(text[first[1]:]):
        if _another_answer(text, first, kept):  # "negative\npositive", "negative, positive"
            return ABSTAIN, None
        return first[2], (first[0], first[1])
    if kept and len({i for _, _, i in kept}) == 1:
        return kept[0][2], (kept[0][0], kept[0][1])
    return ABSTAIN, None


def parse_structured_label(answer, labels):
    """Read a structured answer ``{"label": "<name>"}``: ``(label id, span)`` or ``(-1, None)``.

    Examples
    --------
    >>> parse_structured_label('{"label": "pos"}', ["neg", "pos"])
    (1, (11, 14))
    >>> parse_structured_label("pos", ["neg", "pos"])
    (-1, None)
    """
    text = (answer or "").strip()
    if not text.startswith("{"):
        return -1, None
    try:
        value = json.loads(text)
    except ValueError:
        return -1, None
    name = value.get("label") if isinstance(value, dict) else None
    if not isinstance(name, str) or name not in labels:
        return -1, None
    start = answer.find(json.dumps(name, ensure_ascii=False)[1:-1], answer.find(":"))
    return labels.index(name), ((start, start + len(name)) if start >= 0 else None)


# "1. text", "2) text", "- text", "* text", "Example 3: text", "Text: text"
_ITEM = re.compile(
    r"^\s*(?:(?:\d{1,3}\s*[.):\]-]|[-*•]|#{1,3})\s*)?(?:(?:example|text|sample)\s*\d*\s*[:.-]\s*)?",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}\s*[.):\]-]|[-*•])\s*\S")
_TAG = re.compile(r"</?[A-Za-z_]{1,20}>")
# "Positive Example 1:", "**Negative 3:** ```", "Text:" at the start of an item
_HEADER = re.compile(
    r"^[\s>]*(?:\*\*[^*\n]{1,40}\*\*\s*:?|(?:[\w-]+\s+){0,2}"
    r"(?:example|text|sample|tweet|review|question)\s*(?:#?\d+\s*[:.)-]|:))[\s*_`]*(?=\S)",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’`«»*"


_FIELD = r"(?:(?:correct|true|the)\s+)?(?:label|sentiment|category|class|topic)"


def _strip_label_prefix(text, labels):
    """Drop a label written before a text: "**Sports:** Who won?" -> "Who won?"."""
    for label in labels:
        prefix = re.compile(rf"^[\s*_]*{_label_pattern(label).pattern}[\s*_]*[:–—-]\s*[*_]*\s*",
                            re.IGNORECASE)
        stripped = prefix.sub("", text, count=1)
        if stripped != text:
            return stripped
    return text


def _strip_label_suffix(text, labels):
    """Drop a label appended to a text: "... (positive)", "... - Label: positive"."""
    for label in labels:
        suffix = re.compile(
            rf"\s*(?:[-–—|(\[]\s*(?:{_FIELD}\s*[:=]\s*)?|[,;.]?\s*{_FIELD}\s*[:=]\s*)"
            rf"{_label_pattern(label).pattern}\s*[)\]]?\s*$",
            re.IGNORECASE,
        )
        stripped = suffix.sub("", text)
        if stripped != text:
            return stripped
    return text


def _from_json(answer):
    """Texts from a JSON array / object / JSON lines answer, else None."""
    candidates = []
    match = re.search(r"\[.*\]", answer, re.DOTALL)
    if match:
        candidates.append(match.group(0))
    candidates.append(answer)
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        texts = [_json_text(item) for item in items]
        texts = [t for t in texts if t]
        if texts:
            return texts
    lines = [ln.strip().rstrip(",") for ln in answer.splitlines() if ln.strip().startswith("{")]
    texts = []
    for line in lines:
        try:
            texts.append(_json_text(json.loads(line)))
        except ValueError:
            continue
    texts = [t for t in texts if t]
    return texts or None


def _json_text(item):
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in ("text", "example", "sentence", "content", "review", "tweet", "question"):
            if isinstance(item.get(key), str):
                return item[key]
    return None


def _items(answer):
    """Split an answer into items: numbered/bulleted ones when there are some."""
    lines = answer.splitlines()
    if not any(_NUMBERED.match(line) for line in lines):
        return [
            _ITEM.sub("", line.strip(), count=1)
            for line in lines
            if line.strip() and not line.strip().endswith(":") and not line.startswith("```")
        ]
    # Numbered: lines before the first item and after a blank line are
    # commentary; a line right below an item continues it ("1. Example 1:\n text").
    items, open_item = [], False
    for line in lines:
        if _NUMBERED.match(line):
            items.append(_ITEM.sub("", line.strip(), count=1))
            open_item = True
        elif not line.strip():
            open_item = False
        elif open_item:
            items[-1] += " " + line.strip()
    return items


def mentioned_labels(text, labels):
    """Ids of the labels a text names (nested and overlapping mentions resolved).

    Examples
    --------
    >>> sorted(mentioned_labels("positive or negative?", ["negative", "positive"]))
    [0, 1]
    """
    return {i for _, _, i in _mentions(text, labels)}


_REFUSAL = re.compile(
    r"\b(?:sorry,? but I|I(?:'m| am) (?:unable|not able) to|"
    r"I can(?:'t|not| not) (?:assist|help with|provide|understand|write|generate)|as an AI)\b",
    re.IGNORECASE,
)
_TASK_WORDS = re.compile(
    r"\b(?:labels?|labell?ed|sentiments?|classif\w*|categor\w*|(?:the|this) (?:text|tweet|review"
    r"|sentence|example))\b",
    re.IGNORECASE,
)


def talks_about_task(text, labels, max_named=1):
    """Whether a generated text is commentary or a refusal, not a data text.

    Small models answer a generation prompt with "The sentiment of this
    tweet is negative." or "Sorry, but I can't assist": such a text names
    several labels (more than ``max_named``: a text written for a set of
    labels may name each), or names one beside words of the task (label,
    sentiment, classify, "this text"...), or is a refusal.

    Examples
    --------
    >>> talks_about_task("The sentiment of this tweet is negative.", ["negative", "positive"])
    True
    >>> talks_about_task("What a negative, gloomy day.", ["negative", "positive"])
    False
    """
    named = mentioned_labels(text, labels)
    if len(named) > max_named or _REFUSAL.search(text):
        return True
    return bool(named) and bool(_TASK_WORDS.search(text))


def parse_generated_texts(answer, labels=(), *, min_chars=8):
    """Extract the example texts of a demo-generation answer.

    Reads a JSON array (of strings or ``{"text": ...}`` objects), JSON lines,
    or one text a line with or without numbering and bullets (when some
    lines are numbered, only those items count: the rest is commentary, and
    a line right below an item continues it). Drops headers ("Here are 5
    examples:", "Example 2:"), bare label names, a label written before or
    after a text,
    surrounding quotes and texts shorter than ``min_chars``.

    Parameters
    ----------
    answer : str
        The model's answer.
    labels : sequence of str, default=()
        Label names, to recognise and drop appended labels.
    min_chars : int, default=8
        Shorter texts are dropped.

    Returns
    -------
    texts : list of str
        In the order written, not de-duplicated.

    Examples
    --------
    >>> parse_generated_texts('Here are two:\\n1. "Loved the film!"\\n2) What a waste of time')
    ['Loved the film!', 'What a waste of time']
    """
    if not answer:
        return []
    texts = _from_json(answer.strip())
    if texts is None:
        texts = _items(answer)
    out = []
    label_keys = {label_key(label) for label in labels}
    for text in texts:
        text = _TAG.sub(" ", text)  # the prompt shows examples as <text>...</text>
        text = _HEADER.sub("", " ".join(text.split()).strip(), count=1)
        text = _strip_label_prefix(_strip_label_suffix(text, labels), labels)
        text = text.strip().strip(_QUOTES).strip()
        if len(text) < min_chars or label_key(text) in label_keys:
            continue
        out.append(text)
    return out
