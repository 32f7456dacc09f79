"""Whole numbers typed or posted by anyone (console forms, query strings, provider webhooks).

One parser for all of them: ASCII digits only (`'²'.isdigit()` is true, `int('²')` fails;
`'١٢'` would parse as 12), at most MAX_DIGITS of them, within bounds that fit an INTEGER
column on SQLite and PostgreSQL. An id must also name an existing row. Anything else is a
ValidationError whose message names the field and shows a good value.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from .errors import ValidationError

MAX_INT = 2**31 - 1          # PostgreSQL INTEGER; SQLite would take more, but the schema is shared
MAX_DIGITS = len(str(MAX_INT))


def whole_number(value: str | None, name: str, *, minimum: int = 0, maximum: int = MAX_INT,
                 default: int | None = None) -> int | None:
    """`value` as an int from `minimum` to `maximum`; `default` when it is missing or blank."""
    text = (value or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS) \
            or not minimum <= int(text) <= maximum:
        raise ValidationError("{name} must be a whole number from {minimum} to {maximum} in digits 0-9, e.g. {example}; "
                              "got {text!r}", name=name, minimum=minimum, maximum=maximum,
                              example=max(minimum, min(maximum, 1)), text=text[:24])
    return int(text)


def existing_id(session: Session, model: type, value: str | None, name: str) -> int | None:
    """`value` as the id of an existing `model` row; None when it is missing or blank."""
    return must_exist(session, model, whole_number(value, name, minimum=1), name)


def must_exist(session: Session, model: type, row_id: int | None, name: str) -> int | None:
    """`row_id` (already a number, e.g. read by a form) when a `model` row has it, or None."""
    if row_id is not None and session.get(model, row_id) is None:
        raise ValidationError("there is no {name} {row_id}; choose one from the list", name=name, row_id=row_id)
    return row_id


def existing_ids(session: Session, model: type, values: Iterable[str], name: str) -> list[int]:
    """Each of `values` as the id of an existing `model` row (blanks skipped), without repeats."""
    ids = (existing_id(session, model, v, name) for v in values)
    return sorted({i for i in ids if i is not None})
