"""Files in the fake Telegram cloud: minting file_ids and building media dicts.

Telegram lets a bot re-send any file it has seen by ``file_id`` and refuses
ids it does not know.  :class:`FileStore` remembers every file (photos the
users send, uploads the bot makes) so the fake can do the same, and serves the
bytes back for ``getFile`` + download.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from typing import Any

from .objects import StoredFile

__all__ = ["TINY_JPEG", "FileStore"]

JsonDict = dict[str, Any]

# A valid 1x1 grey baseline JPEG (SOI, DQT, SOF0, two one-code Huffman tables, SOS, EOI).
TINY_JPEG = bytes.fromhex(
    "ffd8ffdb004300" + "01" * 64 + "ffc0000b080001000101011100"
    "ffc4001400" + "01" + "00" * 15 + "00"
    "ffc4001410" + "01" + "00" * 15 + "00"
    "ffda0008010100003f00" + "3f" + "ffd9"
)
# Real file_ids start with a type-dependent prefix; imitate it for readability.
_FILE_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
}
_FILE_EXT = {"photo": "jpg", "document": "pdf", "voice": "oga", "sticker": "webp"}


class FileStore:
    """Every file the fake cloud knows, by file_id and by download path."""

    def __init__(self, salt: str) -> None:
        self._salt = salt
        self.files: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JsonDict]] = {}
        self._seq = itertools.count(1)

    def mint(self, kind: str, data: bytes | None, **extra: Any) -> StoredFile:
        """Register a new file and give it a Telegram-looking, unique file_id."""
        seq = next(self._seq)
        digest = hashlib.sha1(f"{self._salt}/{kind}/{seq}".encode()).hexdigest()[:20]
        stored = StoredFile(
            file_id=f"{_FILE_PREFIX.get(kind, 'BAACAgIAAxkBAAI')}{seq:05d}{digest}",
            file_unique_id=f"AQAD{seq:05d}{digest[:6]}",
            kind=kind,
            file_path=f"{kind}s/file_{seq}.{_FILE_EXT.get(kind, 'bin')}",
            size=len(data) if data is not None else len(TINY_JPEG),
            data=data,
            **extra,
        )
        return self._register(stored)

    def _register(self, stored: StoredFile) -> StoredFile:
        """Index a file by id and path."""
        self.files[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored

    def download(self, file_path: str) -> StoredFile | None:
        """The file served at ``/file/bot<token>/<file_path>``."""
        return self.by_path.get(file_path)

    # ------------------------------------------------------------- photos

    def new_photo(self, data: bytes | None = None) -> list[JsonDict]:
        """A new photo in two sizes (like Telegram's thumbnails); returns the PhotoSize list."""
        sizes = [
            self.mint("photo", data, width=90, height=67),
            self.mint("photo", data, width=1280, height=960),
        ]
        photo = [_photo_size(s) for s in sizes]
        for s in sizes:
            self._photo_sets[s.file_id] = photo
        return copy.deepcopy(photo)

    def photo_sizes(self, file_id: str) -> list[JsonDict] | None:
        """The PhotoSize list of a known photo file_id (None if unknown)."""
        sizes = self._photo_sets.get(file_id)
        return copy.deepcopy(sizes) if sizes is not None else None

    def user_photo(self, photo: bool | str) -> list[JsonDict]:
        """PhotoSize list for a user's new photo (True) or a reused file_id (str)."""
        if photo is True:
            return self.new_photo(TINY_JPEG)
        return self.photo_sizes(str(photo)) or self._adopt_photo(str(photo))

    def _adopt_photo(self, file_id: str) -> list[JsonDict]:
        """Register a photo file_id the fake did not mint (a test made it up)."""
        seq = next(self._seq)
        stored = self._register(
            StoredFile(
                file_id,
                f"AQAD{seq:05d}adopt",
                "photo",
                f"photos/file_{seq}.jpg",
                len(TINY_JPEG),
                width=1280,
                height=960,
            )
        )
        self._photo_sets[file_id] = [_photo_size(stored)]
        return copy.deepcopy(self._photo_sets[file_id])

    # -------------------------------------------------------- other media

    def new_document(
        self,
        data: bytes | None = None,
        file_name: str = "document.pdf",
        mime_type: str | None = None,
    ) -> JsonDict:
        """A new Document dict backed by a stored file."""
        stored = self.mint("document", data)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type or "application/pdf",
            "file_size": stored.size,
        }

    def document_dict(self, file_id: str) -> JsonDict | None:
        """Document dict for a known document file_id (None if unknown or not a document)."""
        stored = self.files.get(file_id)
        if stored is None or stored.kind != "document":
            return None
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }

    def new_sticker(self) -> JsonDict:
        """A new regular sticker."""
        stored = self.mint("sticker", b"RIFF fake webp")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\N{THUMBS UP SIGN}",
        }

    def new_voice(self) -> JsonDict:
        """A new voice note."""
        stored = self.mint("voice", b"OggS fake voice")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": 3,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }


def _photo_size(stored: StoredFile) -> JsonDict:
    """PhotoSize dict of a stored photo."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "width": stored.width,
        "height": stored.height,
    }
