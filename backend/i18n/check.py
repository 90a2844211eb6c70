"""Lists catalog entries left untranslated or marked fuzzy; exits 1 when there are any.

Run through ``scripts/i18n check`` after translating what ``scripts/i18n`` brought in.
"""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po

from backend.i18n import DEFAULT_LOCALE, LOCALES_DIR, SUPPORTED


def untranslated(locale: str) -> list[str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=locale)
    missing = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and (message.fuzzy or not all(strings)):
            missing.append(str(message.id))
    return missing


def main() -> int:
    gaps = {locale: untranslated(locale) for locale in SUPPORTED if locale != DEFAULT_LOCALE}
    for locale, messages in gaps.items():
        for message in messages:
            print(f"{locale}: {message}")
    return 1 if any(gaps.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
