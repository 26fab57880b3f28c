"""Which container a file is, by its bytes (never by its name), and the checks each container needs.

Kinds: ``pickle`` (any protocol, including torch's legacy magic-number files and concatenated pickles),
``zip`` (PyTorch zip checkpoints, .npz, any zip: every member is looked at), ``tar`` (torch's legacy tar
format), ``gzip``/``bz2``/``xz``/``lzma``/``zlib``/``lz4`` (joblib's compressed files), ``npy`` (numpy arrays;
object arrays hold a pickle). ``None``: not pickle-based.
"""

from __future__ import annotations

import ast
import struct
import zlib

from .opcodes import Unverifiable

NPY_MAGIC = b"\x93NUMPY"
ZIP_LOCAL = b"PK\x03\x04"
ZIP_EMPTY = b"PK\x05\x06"
#: opcodes a protocol 0/1 pickle can start with (what pickle.dumps(..., protocol=0/1) writes first, and the
#: ones an attacker would use to start one: MARK, GLOBAL, INST, the string and number opcodes, NONE...)
PICKLE_START = set(b"(cdiSVIFLNl}])KJMUTXGBCh\x80")
SNIFF_BYTES = 600


def sniff(head: bytes) -> str | None:
    """The container kind from a file's first bytes (at least 512 for tar; fewer is fine otherwise)."""
    if head[:4] in (ZIP_LOCAL, ZIP_EMPTY) or head[:4] == b"PK\x07\x08":
        return "zip"
    if head[:6] == NPY_MAGIC:
        return "npy"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return "pickle"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"\x5d\x00\x00":
        return "lzma"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if head[:2] == b"ZF":  # joblib < 0.10 compressed file
        return "zfile"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if is_tar(head):
        return "tar"
    if head[:1] and head[0] in PICKLE_START:
        return "pickle0"  # maybe a protocol 0/1 pickle: the caller decides by walking it
    return None


def is_tar(head: bytes) -> bool:
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar":
        return True
    try:  # a v7 tar: the header checksum is the only signature
        stored = int(head[148:156].replace(b"\0", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    blk = bytearray(head[:512])
    blk[148:156] = b" " * 8
    return stored == sum(blk) and head[0] != 0


# --- zip -------------------------------------------------------------------------------------------------

class ZipMember:
    __slots__ = ("name", "flags", "method", "crc", "csize", "usize", "offset", "data_start")

    def __init__(self, name, flags, method, crc, csize, usize, offset):
        self.name, self.flags, self.method, self.crc = name, flags, method, crc
        self.csize, self.usize, self.offset = csize, usize, offset
        self.data_start = None


def _eocd(buf, size: int) -> tuple[int, int, int]:
    """(entries, central directory size, central directory offset), zip64 included."""
    lo = max(0, size - (65535 + 22))
    i = buf.rfind(b"PK\x05\x06", lo, size)
    if i < 0 or size - i < 22:
        raise Unverifiable("zip archive without an end-of-central-directory record", size)
    _, disk, cd_disk, n_disk, n, cd_size, cd_off, clen = struct.unpack("<IHHHHIIH", buf[i:i + 22])
    if disk != 0 or cd_disk != 0 or n_disk != n:
        raise Unverifiable("multi-disk zip archive", i)
    if n == 0xFFFF or cd_size == 0xFFFFFFFF or cd_off == 0xFFFFFFFF:
        j = i - 20
        if j < 0 or buf[j:j + 4] != b"PK\x06\x07":
            raise Unverifiable("zip64 archive without a zip64 locator", i)
        z64 = struct.unpack("<Q", buf[j + 8:j + 16])[0]
        if z64 + 56 > size or buf[z64:z64 + 4] != b"PK\x06\x06":
            raise Unverifiable("bad zip64 end-of-central-directory record", j)
        n, cd_size, cd_off = struct.unpack("<QQQ", buf[z64 + 32:z64 + 56])
    if cd_off + cd_size > size:
        raise Unverifiable("zip central directory runs past the end of the file", i)
    return n, cd_size, cd_off


def parse_central(cd: bytes, entries: int, base: int = 0) -> list[ZipMember]:
    """The central directory's members (``cd`` holds the whole directory; offsets are file offsets)."""
    out, p = [], 0
    if entries > len(cd) // 46 + 1:
        raise Unverifiable(f"zip claims {entries:,} members in a {len(cd):,}-byte directory", base)
    for _ in range(entries):
        if cd[p:p + 4] != b"PK\x01\x02" or p + 46 > len(cd):
            raise Unverifiable("corrupt zip central directory", base + p)
        (_, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _,
         off) = struct.unpack("<IHHHHHHIIIHHHHHII", cd[p:p + 46])
        raw = bytes(cd[p + 46:p + 46 + nlen])
        extra = bytes(cd[p + 46 + nlen:p + 46 + nlen + xlen])
        name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if 0xFFFFFFFF in (csize, usize, off):
            q = 0
            while q + 4 <= len(extra):
                tag, ln = struct.unpack("<HH", extra[q:q + 4])
                if tag == 1:
                    vals = extra[q + 4:q + 4 + ln]
                    k = 0
                    if usize == 0xFFFFFFFF:
                        usize = struct.unpack("<Q", vals[k:k + 8])[0]
                        k += 8
                    if csize == 0xFFFFFFFF:
                        csize = struct.unpack("<Q", vals[k:k + 8])[0]
                        k += 8
                    if off == 0xFFFFFFFF:
                        off = struct.unpack("<Q", vals[k:k + 8])[0]
                q += 4 + ln
        out.append(ZipMember(name, flags, method, crc, csize, usize, off))
        p += 46 + nlen + xlen + clen
    return out


def check_local(buf, m: ZipMember, size: int) -> None:
    """The local header must agree with the central directory (name, method, flags); sets ``data_start``."""
    o = m.offset
    if o + 30 > size or buf[o:o + 4] != ZIP_LOCAL:
        raise Unverifiable(f"zip member {m.name!r}: no local header where the directory points", o)
    _, _, flags, method, _, _, _, _, _, nlen, xlen = struct.unpack("<IHHHHHIIIHH", buf[o:o + 30])
    raw = bytes(buf[o + 30:o + 30 + nlen])
    name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    if name != m.name:
        raise Unverifiable(f"zip member {m.name!r}: the local header names it {name!r} (a decoy)", o)
    if method != m.method:
        raise Unverifiable(f"zip member {m.name!r}: local and central compression methods differ", o)
    if (flags ^ m.flags) & 1:
        raise Unverifiable(f"zip member {m.name!r}: local and central encryption flags differ", o)
    m.data_start = o + 30 + nlen + xlen
    if m.data_start + m.csize > size:
        raise Unverifiable(f"zip member {m.name!r} runs past the end of the archive", o)


def zip_members(buf, size: int, check_all: bool = True) -> list[ZipMember]:
    """Every member from the central directory, with the consistency checks loaders disagree on (duplicate
    names, encryption, methods); ``check_all`` also checks every local header and that no two members overlap
    (off for range reads, where only the members that are scanned have their local header read)."""
    n, cd_size, cd_off = _eocd(buf, size)
    members = parse_central(buf[cd_off:cd_off + cd_size], n, cd_off)
    seen = set()
    for m in members:
        if m.name in seen:
            raise Unverifiable(f"zip archive holds two members named {m.name!r} (loaders disagree on which "
                               "one they read)", m.offset)
        seen.add(m.name)
        if m.flags & 1:
            raise Unverifiable(f"zip member {m.name!r} is encrypted", m.offset)
        if m.method not in (0, 8, 12, 14):
            raise Unverifiable(f"zip member {m.name!r} uses compression method {m.method}", m.offset)
        if check_all:
            check_local(buf, m, size)
    if not check_all:
        return members
    spans = sorted((m.data_start, m.data_start + m.csize, m.name) for m in members)
    for (s1, e1, n1), (s2, e2, n2) in zip(spans, spans[1:]):
        if s2 < e1:
            raise Unverifiable(f"zip members {n1!r} and {n2!r} overlap", s2)
    return members


def member_bytes(buf, m: ZipMember, budget) -> bytes:
    """A member's content, decompressed within the budget, CRC-checked."""
    raw = buf[m.data_start:m.data_start + m.csize]
    if m.method == 0:
        if m.csize != m.usize:
            raise Unverifiable(f"zip member {m.name!r}: stored sizes differ", m.offset)
        data = raw
    else:
        data = decompress({8: "deflate", 12: "bz2", 14: "zip-lzma"}[m.method], bytes(raw), budget, m.name)
        if len(data) != m.usize:
            raise Unverifiable(f"zip member {m.name!r}: decompresses to {len(data):,} bytes, the directory says "
                               f"{m.usize:,}", m.offset)
    if zlib.crc32(data) != m.crc:
        raise Unverifiable(f"zip member {m.name!r}: bad CRC", m.offset)
    return data


# --- compression -----------------------------------------------------------------------------------------

def decompress(kind: str, data: bytes, budget, what: str) -> bytes:
    """Decompress at most the budget's byte allowance; a corrupt or truncated stream is Unverifiable."""
    import bz2
    import lzma

    limit = budget.bytes_left()
    if kind == "deflate":
        d = zlib.decompressobj(-15)
    elif kind in ("zlib", "zfile"):
        d = zlib.decompressobj()
    elif kind == "gzip":
        d = zlib.decompressobj(16 + 15)
    elif kind == "bz2":
        d = bz2.BZ2Decompressor()
    elif kind in ("xz", "lzma"):
        d = lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
    elif kind == "zip-lzma":
        if len(data) < 4:
            raise Unverifiable(f"{what}: truncated lzma header", 0)
        plen = struct.unpack("<H", data[2:4])[0]
        props = lzma._decode_filter_properties(lzma.FILTER_LZMA1, data[4:4 + plen])
        d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[props])
        data = data[4 + plen:]
    else:
        raise Unverifiable(f"{what}: {kind} compression is not supported by the scanner", 0)
    parts, total = [], 0
    while True:
        try:
            out = d.decompress(data, limit + 1 - total)
        except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError) as e:
            raise Unverifiable(f"{what}: corrupt {kind} stream ({e})", 0) from None
        parts.append(out)
        total += len(out)
        if total > limit:
            raise Unverifiable(f"{what}: decompresses to more than the scan budget "
                               f"({budget.max_bytes >> 20} MiB)", 0)
        if not getattr(d, "eof", True):
            raise Unverifiable(f"{what}: the {kind} stream is truncated", 0)
        rest = d.unused_data
        if not rest or kind in ("deflate", "zip-lzma", "zlib", "zfile", "lzma"):
            break
        # gzip, bz2 and xz readers go on to the next stream: so does the scan
        d = {"gzip": lambda: zlib.decompressobj(16 + 15), "bz2": bz2.BZ2Decompressor,
             "xz": lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)}[kind]()
        data = rest
    out = b"".join(parts)
    budget.spend_bytes(len(out))
    return out


def decompress_head(kind: str, data: bytes, n: int) -> bytes | None:
    """The first ``n`` decompressed bytes (None when the stream does not even start correctly)."""
    import bz2
    import lzma

    try:
        if kind in ("zlib",):
            d = zlib.decompressobj()
        elif kind == "gzip":
            d = zlib.decompressobj(16 + 15)
        elif kind == "bz2":
            d = bz2.BZ2Decompressor()
        elif kind in ("xz", "lzma"):
            d = lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
        else:
            return None
        out = b""
        step = 1 << 16
        for i in range(0, min(len(data), 64 << 20), step):
            out += d.decompress(data[i:i + step], n - len(out)) if not isinstance(d, bz2.BZ2Decompressor) \
                else d.decompress(data[i:i + step], n - len(out))
            if len(out) >= n or getattr(d, "eof", False):
                break
        return out
    except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError):
        return None


def zfile_payload(buf: bytes) -> bytes:
    """joblib < 0.10 'ZF' files: b'ZF' + 16-character hex length, then zlib data."""
    return bytes(buf[18:])


# --- npy -------------------------------------------------------------------------------------------------

def npy_header(buf, start: int, end: int) -> tuple[dict, int]:
    """(header dict, offset of the data) of a .npy file; Unverifiable when malformed."""
    if end - start < 10:
        raise Unverifiable("truncated .npy header", start)
    major = buf[start + 6]
    if major == 1:
        hlen, p = struct.unpack("<H", buf[start + 8:start + 10])[0], start + 10
    elif major in (2, 3):
        hlen, p = struct.unpack("<I", buf[start + 8:start + 12])[0], start + 12
    else:
        raise Unverifiable(f"unknown .npy format version {major}", start)
    if p + hlen > end or hlen > 1 << 20:
        raise Unverifiable(".npy header runs past the end", start)
    try:
        text = bytes(buf[p:p + hlen]).decode("utf-8" if major == 3 else "latin-1")
        hdr = ast.literal_eval(text)
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise Unverifiable(".npy header is not a Python literal", p) from None
    if not isinstance(hdr, dict) or "descr" not in hdr:
        raise Unverifiable(".npy header has no 'descr'", p)
    return hdr, p + hlen


def npy_has_object(descr) -> bool:
    """Whether a .npy descr holds Python objects (then the data is a pickle)."""
    if isinstance(descr, str):
        return "O" in descr
    if isinstance(descr, (list, tuple)):
        return any(npy_has_object(x) for x in descr)
    return True  # an unexpected descr: treat it as needing a pickle
