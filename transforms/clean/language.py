"""Which language a text is in, guessed on its candidate body lines (not on a page's chrome), and that
language's stop words."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Optional

from transforms.clean.tables import LANGUAGE_SAMPLE_CHARS, MIN_LANGUAGE_PROBABILITY


@functools.cache
def stop_words(language: Optional[str]) -> frozenset[str]:
    """spaCy's stop-word list for the language; empty when spaCy has none: an English list would make
    every other language look like chrome."""
    if not language:
        return frozenset()
    import spacy.util

    try:
        return frozenset(w.lower() for w in spacy.util.get_lang_class(language).Defaults.stop_words if w.strip())
    except (ImportError, AttributeError):
        return frozenset()


@functools.lru_cache(maxsize=1)
def _language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(lines: Iterable[str]) -> Optional[str]:
    """ISO 639-1 code of the given lines (or text), or None when the guess is weak."""
    text = lines if isinstance(lines, str) else "\n".join(lines)
    text = text[:LANGUAGE_SAMPLE_CHARS]
    if not text.strip():
        return None
    code, probability = _language_identifier().classify(text)
    return code if probability >= MIN_LANGUAGE_PROBABILITY else None
