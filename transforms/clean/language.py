"""Which language a text is in, and that language's stop words."""

from __future__ import annotations

import functools
from typing import Optional

from transforms.clean.tables import DEFAULT_LANGUAGE, LANGUAGE_SAMPLE_CHARS, MIN_LANGUAGE_PROBABILITY


@functools.cache
def stop_words(language: Optional[str]) -> frozenset[str]:
    """spaCy's stop-word list for the language (English when unknown or unlisted)."""
    import spacy.util

    for code in (language or DEFAULT_LANGUAGE, DEFAULT_LANGUAGE):
        try:
            return frozenset(spacy.util.get_lang_class(code).Defaults.stop_words)
        except (ImportError, AttributeError):
            continue
    return frozenset()


@functools.lru_cache(maxsize=1)
def _language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> Optional[str]:
    """ISO 639-1 code of the text's language, or None when the guess is weak."""
    code, probability = _language_identifier().classify(text[:LANGUAGE_SAMPLE_CHARS])
    return code if probability >= MIN_LANGUAGE_PROBABILITY else None
