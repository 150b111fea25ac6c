"""Images inserted into articles (A4.1): kept by content hash in a folder of their own,
``MEDIA_ROOT/articles/``, apart from the patients' report, complication and consultation photos
and the badge photos (``MEDIA_ROOT/<hh>/``, served only through access-checked pages).

Articles are public, so their images are served without sign-in — only from this folder, only
under a content-hash name. The media clean-up leaves the folder alone: an image is named only
inside an article's Markdown (and its versions, which any restore may bring back)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.adapters.media import MediaStore, StoredMedia

FOLDER = "articles"
URL_PREFIX = "/h5/articles/media/"
NAME = re.compile(r"[0-9a-f]{64}\.(?:jpg|png)")
# an image as the article texts name it, wherever it is (legacy uploads included)
IN_TEXT = re.compile(re.escape(URL_PREFIX) + r"(" + NAME.pattern + r")")


def root(media_root: Path) -> Path:
    """The folder of the article images."""
    return media_root / FOLDER


def store(media_root: Path, data: bytes, content_type: str) -> StoredMedia:
    """Keep an uploaded image (already checked to be a JPG or PNG) in the articles' folder."""
    return MediaStore(root(media_root)).save(data, content_type)


def url(stored: StoredMedia) -> str:
    """The address that shows a stored image inside an article."""
    return URL_PREFIX + stored.path.name


def path_of(media_root: Path, name: str) -> Path | None:
    """The file of the article image ``name`` (``<sha256>.jpg`` or ``.png``), never a file
    outside the articles' folder; None for any other name or a missing file."""
    if not NAME.fullmatch(name):
        return None
    folder = root(media_root).resolve()
    path = (folder / name[:2] / name).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return None
    return path


def named_in(text: str | None) -> set[str]:
    """The image file names an article text shows (``/h5/articles/media/<name>``)."""
    return set(IN_TEXT.findall(text or ""))
