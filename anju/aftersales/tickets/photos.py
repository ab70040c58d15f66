"""Ticket photos: only real images within a size limit are accepted; each is decoded by
Pillow and re-encoded (JPEG, or PNG when it has transparency), which drops EXIF, GPS and
every other metadata block, and is kept through Django's storage API."""

import io
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = getattr(settings, "ANJU_TICKET_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
MAX_PIXELS = 40_000_000
MAX_SIDE = 2560
MAX_PHOTOS = 9
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}


def photo_clean(upload, *, field: str = "photos") -> tuple[ContentFile, int, int]:
    """Returns the cleaned image file (no metadata) and its size, or ValidationError naming
    the field."""
    size = getattr(upload, "size", None)
    if size is None:
        raise ValidationError({field: _("This is not a file.")})
    name = getattr(upload, "name", "photo")
    if size > MAX_BYTES:
        raise ValidationError({field: _("%(name)s is larger than %(limit)s MB.") % {
            "name": name, "limit": MAX_BYTES // (1024 * 1024)}})
    try:
        upload.seek(0)
        data = upload.read()
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise ValidationError({field: _("%(name)s is not a JPEG, PNG, WebP or GIF image.")
                                   % {"name": name}})
        if image.width * image.height > MAX_PIXELS:
            raise ValidationError({field: _("%(name)s has too many pixels.") % {"name": name}})
        image.load()
        image = ImageOps.exif_transpose(image)  # keep what the camera meant, drop the tag
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise ValidationError({field: _("%(name)s is not an image.") % {"name": name}}) from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    out = io.BytesIO()
    if has_alpha:
        clean = Image.new(image.mode if image.mode in ("RGBA", "LA") else "RGBA", image.size)
        clean.paste(image.convert(clean.mode))
        clean.save(out, format="PNG", optimize=True)
        extension = "png"
    else:
        clean = Image.new("RGB", image.size)
        clean.paste(image.convert("RGB"))
        clean.save(out, format="JPEG", quality=85, optimize=True)
        extension = "jpg"
    return (ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{extension}"),
            clean.width, clean.height)
