"""Phone numbers the police can call: checked and stored in one form (E.164, "+8613800138000").

A number typed without its country code is read in the station's region
(``SEARCHBOT_PHONE_REGION``); a number shared with Telegram's contact button comes in
international form, often without its "+". Anything that is not a valid number — too long, too
short, letters — is refused, so the dialogue can ask again instead of storing what no one can
dial (or what does not fit the column).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

TYPED_MAX = 40  # characters: more is not a phone number, whatever it holds


def normalise(text: str, region: str, shared: bool = False) -> str | None:
    """The E.164 form of ``text``, or None when it is not a valid phone number. ``shared``:
    the number came from a contact card, in international form."""
    text = text.strip()
    if not text or len(text) > TYPED_MAX:
        return None
    attempts = [text]
    if shared and not text.startswith("+"):
        attempts.insert(0, "+" + text)
    for attempt in attempts:
        try:
            number = phonenumbers.parse(attempt, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


def is_region(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS
