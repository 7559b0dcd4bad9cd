"""Reading and writing images: float32 HWC RGB (or HxW gray) in [0, 1], 8 or 16 bits on disk.

OpenCV decodes every format (PNG, JPEG, TIFF, BMP, WebP) with ``IMREAD_UNCHANGED`` so 16-bit samples
and alpha survive; channels are turned from OpenCV's BGR(A) into RGB plus a separate alpha plane.
Every failure a user can cause is an :class:`ImageError` with a one-line message.
"""

from __future__ import annotations

import glob
import io
import os
import struct
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..fileio import atomic_write
from ..errors import UsageError

# Failures reach the user as one ImageError line; OpenCV's own warnings would only add noise.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_MAX_LEVEL = {8: 255.0, 16: 65535.0}
_DTYPE = {8: np.uint8, 16: np.uint16}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GRAY_ALPHA = 4  # the IHDR color type of a gray + alpha PNG
_STDERR_SWAP = threading.Lock()


class ImageError(UsageError):
    """An image that cannot be used: missing, not an image, truncated, or of an unsupported kind."""


@dataclass(frozen=True)
class ImageFile:
    pixels: np.ndarray  # float32, HxWx3 RGB or HxW gray, values in [0, 1]
    bit_depth: int  # 8 or 16: the sample size on disk
    alpha: np.ndarray | None  # float32 HxW in [0, 1], or None
    path: Path
    jpeg_quality: int | None = None  # a JPEG file's quality, estimated from its tables (jpeg_quality)


# libjpeg's (IJG's) luminance quantization table at quality 50, which its quality setting scales.
_IJG_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
])  # fmt: skip


def _ijg_table(quality: int) -> np.ndarray:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((_IJG_LUMINANCE * scale + 50) // 100, 1, 255)


_IJG_SORTED = {q: np.sort(_ijg_table(q)) for q in range(1, 101)}


def jpeg_quality(luminance_table) -> int:
    """The libjpeg quality (1-100) whose luminance table is nearest to ``luminance_table`` (64
    values, any order: encoders store them zigzag or row-major). Exact for files libjpeg wrote
    (OpenCV, Pillow, most software); an estimate for cameras' own tables. Ties go to the higher
    quality (above 97 several qualities give the same table)."""
    table = np.sort(np.asarray(luminance_table, np.int64).ravel())
    return min(range(100, 0, -1), key=lambda q: int(np.abs(_IJG_SORTED[q] - table).sum()))


def quantize(img: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """[0, 1] floats to unsigned integers as MATLAB's im2uint8/im2uint16 do: clip, then round half up.

    (numpy's ``round`` goes half to even; MATLAB rounds halves away from zero. For clipped,
    non-negative values ``floor(x + 0.5)`` is MATLAB's rule.) Integer input is returned unchanged.
    """
    if bit_depth not in _MAX_LEVEL:
        raise ImageError(f"unsupported bit depth {bit_depth} (use 8 or 16)")
    img = np.asarray(img)
    if img.dtype == _DTYPE[bit_depth]:
        return img
    if not np.issubdtype(img.dtype, np.floating):
        raise ImageError(f"cannot quantize {img.dtype} samples to {bit_depth} bits; pass floats in [0, 1]")
    top = _MAX_LEVEL[bit_depth]
    return np.floor(np.clip(img.astype(np.float64), 0.0, 1.0) * top + 0.5).astype(_DTYPE[bit_depth])


def to_float(img: np.ndarray) -> np.ndarray:
    """uint8/uint16 samples to float32 in [0, 1]; float input is only cast to float32."""
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img.astype(np.float32) / np.float32(255.0)
    if img.dtype == np.uint16:
        return img.astype(np.float32) / np.float32(65535.0)
    if np.issubdtype(img.dtype, np.floating):
        return img.astype(np.float32, copy=False)
    raise ImageError(f"unsupported sample type {img.dtype} (use uint8, uint16 or float)")


def _check_jpeg_complete(data: bytes, path: Path) -> int | None:
    """The file's quality (:func:`jpeg_quality`; None without tables), once it is known complete.

    libjpeg only *warns* on a truncated file and OpenCV then returns a half-gray image; Pillow's
    decoder raises instead. Decoding at 1/8 scale (draft mode) still reads every entropy-coded byte."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft(im.mode, (max(1, im.size[0] // 8), max(1, im.size[1] // 8)))
            im.load()
            tables = getattr(im, "quantization", None) or {}
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{path}: truncated or corrupt JPEG ({err})") from None
    return jpeg_quality(tables[0]) if 0 in tables and len(tables[0]) == 64 else None


@contextmanager
def _c_stderr_silenced():
    """Point file descriptor 2 at /dev/null: libpng and libjpeg print their own warnings there from C
    (not through OpenCV's logging), ahead of the one line that reports a bad file. Anything another
    thread writes to stderr meanwhile is lost too; decoding is short. The lock serialises decoders
    (``semanir serve`` decodes uploads in threads): two overlapping swaps could otherwise restore
    each other's /dev/null and silence stderr for good."""
    with _STDERR_SWAP:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to keep clean
            saved = None
        if saved is None:
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def read_image(path: str | os.PathLike) -> ImageFile:
    """Read an image file as float32 in [0, 1]: HxWx3 RGB or HxW gray, alpha separated."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImageError(f"{path}: cannot read ({err.strerror or err})") from None
    return decode_image(data, path)


def decode_image(data: bytes, path: str | os.PathLike) -> ImageFile:
    """:func:`read_image` of a file's bytes (an upload); ``path`` names it in the messages."""
    path = Path(path)
    if not data:
        raise ImageError(f"{path}: empty file, not an image")
    with _c_stderr_silenced():
        raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ImageError(f"{path}: not a readable image (unknown format, truncated or corrupt)")
    quality = _check_jpeg_complete(data, path) if data[:3] == b"\xff\xd8\xff" else None
    if raw.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{path}: unsupported sample type {raw.dtype} (only 8- and 16-bit images)")
    bit_depth = 8 if raw.dtype == np.uint8 else 16
    pixels, alpha = _from_opencv_layout(raw, path)
    if pixels.ndim == 3 and _is_gray_alpha_png(data):
        pixels = pixels[..., 0]  # OpenCV expands gray + alpha to BGRA with three equal planes
    return ImageFile(
        pixels=to_float(pixels),
        bit_depth=bit_depth,
        alpha=None if alpha is None else to_float(alpha),
        path=path,
        jpeg_quality=quality,
    )


def _from_opencv_layout(raw: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if raw.ndim == 2:
        return raw, None
    channels = raw.shape[2]
    if channels == 1:
        return raw[..., 0], None
    if channels == 2:  # gray + alpha
        return raw[..., 0], raw[..., 1]
    if channels == 3:
        return raw[..., ::-1], None
    if channels == 4:
        return raw[..., 2::-1], raw[..., 3]
    raise ImageError(f"{path}: unsupported channel count {channels} (expected 1, 2, 3 or 4)")


def _is_gray_alpha_png(data: bytes) -> bool:
    # The signature, then the IHDR chunk: length, type, width, height, bit depth, color type.
    return data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and data[25] == _PNG_GRAY_ALPHA


def _encode_gray_alpha_png(gray: np.ndarray, alpha: np.ndarray) -> bytes:
    """A gray + alpha PNG from uint8 or uint16 planes: cv2.imencode only writes 1, 3 or 4 channels."""
    h, w = gray.shape
    samples = np.stack([gray, alpha], axis=2).astype(gray.dtype.newbyteorder(">"))  # PNG is big-endian
    rows = samples.reshape(h, -1).view(np.uint8)
    # Filter type 2 ("Up") on every row: the byte-wise difference to the row above, which compresses
    # smooth images well; uint8 arithmetic wraps modulo 256 as the filter requires.
    filtered = np.diff(rows, axis=0, prepend=np.zeros((1, rows.shape[1]), np.uint8))
    scanlines = np.concatenate([np.full((h, 1), 2, np.uint8), filtered], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8 * gray.dtype.itemsize, _PNG_GRAY_ALPHA, 0, 0, 0)
    chunks = [(b"IHDR", header), (b"IDAT", zlib.compress(scanlines.tobytes())), (b"IEND", b"")]
    return _PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)) for kind, body in chunks
    )


def write_image(
    path: str | os.PathLike, pixels: np.ndarray, bit_depth: int = 8, alpha: np.ndarray | None = None
) -> Path:
    """Write float [0, 1] (or uint8/uint16) pixels, RGB or gray, atomically.

    The file is encoded in memory and written with :func:`semanir.fileio.atomic_write` (temporary
    file beside it, fsync, ``os.replace``), so a crash never leaves a partial image behind.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ImageError(f"{path}: unsupported extension {ext!r} (use one of {', '.join(IMAGE_EXTENSIONS)})")
    if bit_depth == 16 and ext not in (".png", ".tif", ".tiff"):
        raise ImageError(f"{path}: 16-bit samples need PNG or TIFF, not {ext}")
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        channels = pixels.shape[2] if pixels.ndim == 3 else "?"
        raise ImageError(
            f"{path}: unsupported channel count {channels} in shape {pixels.shape} (expected HxW or HxWx3)"
        )
    out = quantize(pixels, bit_depth)
    if out.ndim == 3:
        out = out[..., ::-1]  # RGB -> BGR for OpenCV
    a = None if alpha is None else quantize(np.asarray(alpha), bit_depth)
    if a is not None and a.shape != out.shape[:2]:
        raise ImageError(f"{path}: alpha shape {a.shape} does not match image shape {out.shape[:2]}")
    if a is not None and out.ndim == 2 and ext == ".png":  # gray stays gray
        data = _encode_gray_alpha_png(out, a)
    else:
        if a is not None:
            # Other formats hold gray + alpha as RGBA with three equal planes: OpenCV writes no
            # 2-channel images, and reads 2-channel TIFFs without their alpha.
            color = out if out.ndim == 3 else np.repeat(out[..., None], 3, axis=2)
            out = np.concatenate([color, a[..., None]], axis=2)
        data = _encode_with_opencv(out, ext, path)
    return atomic_write(path, lambda f: f.write(data))


def _encode_with_opencv(out: np.ndarray, ext: str, path: Path) -> bytes:
    try:
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(out))
    except cv2.error:
        ok = False
    if not ok:
        raise ImageError(f"{path}: OpenCV could not encode a {out.shape} {out.dtype} image as {ext}")
    return buf.tobytes()


def list_images(folder_or_glob: str | os.PathLike) -> list[Path]:
    """Sorted image files in a folder (not recursive) or matching a glob pattern."""
    spec = str(folder_or_glob)
    if glob.has_magic(spec):
        paths = [Path(p) for p in glob.glob(spec, recursive=True)]
        where = f"pattern {spec!r}"
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise ImageError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        paths = list(folder.iterdir())
        where = f"folder {folder}"
    images = sorted(p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not images:
        raise ImageError(f"{where}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    return images
