"""Which encoding a text file is in, decided so that a file is read with its own text or refused, never garbled.

The order, from certain to inferred:

1. a byte-order mark names the encoding (UTF-8, UTF-16, UTF-32);
2. UTF-16 without a byte-order mark shows itself by its zero bytes, all at even or all at odd positions;
3. bytes that are valid UTF-8 are UTF-8 (no detector can beat that: other encodings almost never form it);
4. otherwise charset-normalizer proposes encodings and the language of the text. Single-byte code pages
   agree on ASCII and differ on accented letters, so a short text fits several of them equally well
   (Windows-1252 ``ï`` is Windows-1250 ``ď``). The language decides between them: a Western language is
   read as Windows-1252 (which covers Latin-1's letters), a Central European one as Windows-1250, and so
   on. When the candidates would give different text and the language does not settle it, the file is
   refused with one line asking for UTF-8: a wrong guess would be stored for good, and every offset coded
   against it would quote the wrong letters.

Whatever is chosen is decoded strictly: a file whose bytes are not valid in that encoding is refused.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from models.errors import ImportRefused

# UTF-32 first: its little-endian BOM begins with the UTF-16 one.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

# The code page each language's text is written in when it is not Unicode (Windows' ANSI code pages, which
# Word's "Save as plain text" and older transcription tools write). Languages as charset-normalizer names them.
CODE_PAGE_OF_LANGUAGE = {
    **dict.fromkeys(
        ["English", "French", "German", "Spanish", "Portuguese", "Italian", "Dutch", "Danish", "Norwegian",
         "Swedish", "Finnish", "Catalan", "Indonesian"],
        "cp1252",
    ),
    **dict.fromkeys(["Polish", "Czech", "Slovak", "Hungarian", "Croatian", "Slovene", "Romanian"], "cp1250"),
    **dict.fromkeys(["Russian", "Ukrainian", "Bulgarian", "Belarusian", "Serbian", "Macedonian", "Kazakh"], "cp1251"),
    "Greek": "cp1253",
    "Turkish": "cp1254",
    "Hebrew": "cp1255",
    "Arabic": "cp1256",
    **dict.fromkeys(["Lithuanian", "Latvian", "Estonian"], "cp1257"),
    "Vietnamese": "cp1258",
    "Thai": "cp874",
}  # fmt: skip
SINGLE_BYTE = frozenset(CODE_PAGE_OF_LANGUAGE.values())
# Encodings a detection may propose on its own: each is more than one byte per character (or UTF-16), so
# text in another encoding hardly ever decodes in it, and decodes as garbage when it does (caught below).
MULTI_BYTE = frozenset(
    ["cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb18030", "gb2312", "gbk", "big5", "big5hkscs", "cp949",
     "euc_kr", "utf_16_le", "utf_16_be", "utf_32_le", "utf_32_be"]
)  # fmt: skip
NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32",
    "utf_16_le": "UTF-16 (little-endian, no byte-order mark)", "utf_16_be": "UTF-16 (big-endian, no byte-order mark)",
    "cp1252": "Windows-1252", "cp1250": "Windows-1250", "cp1251": "Windows-1251", "cp1253": "Windows-1253",
    "cp1254": "Windows-1254", "cp1255": "Windows-1255", "cp1256": "Windows-1256", "cp1257": "Windows-1257",
    "cp1258": "Windows-1258", "cp874": "Windows-874", "cp932": "Shift-JIS", "shift_jis": "Shift-JIS",
    "euc_jp": "EUC-JP", "gb18030": "GB18030", "gb2312": "GB2312", "gbk": "GBK", "big5": "Big5", "cp949": "EUC-KR",
    "euc_kr": "EUC-KR",
}  # fmt: skip
# Non-ASCII letters a text must show before its language may choose a non-Western code page for it.
MIN_EVIDENCE = 8
# Non-letters that sit between letters in real words: apostrophes, hyphens and dashes, middle dots.
_WORD_PUNCTUATION = frozenset("'’‘-‐‑–—·.")
# A run of non-space characters with at least one non-ASCII character in it.
_NON_ASCII_WORD = re.compile(r"[^\s\x00-\x7f]*[^\s\x00-\x7f][^\s]*|[^\s]+[^\s\x00-\x7f][^\s]*")
MAX_MESS = 0.2  # charset-normalizer's mess ratio above which decoded text is taken to be garbage
UTF16_SAMPLE = 4096
SAVE_AS_UTF8 = "save it as UTF-8 (in Word: Save As, Plain Text, Unicode (UTF-8)) and import it again"


def bom_codec(data: bytes) -> str | None:
    """The codec named by the byte-order mark ``data`` starts with (the codec strips the BOM), if any."""
    return next((codec for bom, codec in _BOMS if data.startswith(bom)), None)


def utf16_codec(data: bytes) -> str | None:
    """``utf_16_le`` / ``utf_16_be`` for UTF-16 without a BOM: text with Latin letters, digits or spaces has a
    zero high byte in most characters, so zeros fill one parity of positions and (almost) never the other."""
    sample = data[:UTF16_SAMPLE]
    pairs = len(sample) // 2
    if pairs < 2 or len(data) % 2:
        return None
    high_first, low_first = sample[0 : 2 * pairs : 2].count(0), sample[1 : 2 * pairs : 2].count(0)
    if low_first >= 0.3 * pairs and high_first <= 0.02 * pairs:
        return "utf_16_le"
    if high_first >= 0.3 * pairs and low_first <= 0.02 * pairs:
        return "utf_16_be"
    return None


def name_of(codec: str) -> str:
    return NAMES.get(codec, codec.replace("_", "-").upper())


def decode(data: bytes, label: str) -> tuple[str, str]:
    """The text of a file's bytes (a BOM removed, line ends as they are) and the codec that read it; refuses
    with ``ImportRefused("<label>: ...")`` a file whose encoding cannot be told or whose bytes it rejects."""
    codec = bom_codec(data)
    if codec is not None:
        return _strict(data, codec, label).removeprefix("\ufeff"), codec.removesuffix("-sig")
    codec = utf16_codec(data)  # before UTF-8: zeros are valid UTF-8 (though never text)
    if codec is not None:
        return _strict(data, codec, label), codec
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    codec = detect(data, label)
    return _strict(data, codec, label), codec


def _strict(data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02X} at offset {exc.start}" if exc.start < len(data) else "its end"
        raise ImportRefused(
            f"{label}: not valid {name_of(codec)} text: {where} cannot be decoded; {SAVE_AS_UTF8}"
        ) from exc


def detect(data: bytes, label: str) -> str:
    """The encoding of bytes that are neither UTF-8 nor UTF-16 (see the module's notes)."""
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    results = list(from_bytes(data))
    best = results[0] if results else None
    multi_byte = best is not None and best.encoding in MULTI_BYTE
    if best is not None and multi_byte:
        chosen = best.encoding
    else:
        language = best.language if best is not None else "Unknown"
        chosen = _code_page(data, [r.encoding for r in results], language, label)
    text = _strict(data, chosen, label)
    # (Words run together in Chinese and Japanese: the word check is for the single-byte code pages.)
    if mess_ratio(text, MAX_MESS) >= MAX_MESS or (not multi_byte and implausible_words(text)):
        raise ImportRefused(
            f"{label}: read as {name_of(chosen)} the text looks garbled, so it cannot be decoded safely; {SAVE_AS_UTF8}"
        )
    return chosen


def _code_page(data: bytes, proposed: list[str], language: str, label: str) -> str:
    """The single-byte code page of a text: any when they all read it the same; the one its language is
    written in when the text reads plausibly in it (and, for a non-Western page, shows enough of its
    letters to be sure); Windows-1252 for a plausible text in no recognised language; else a refusal."""
    order = ["cp1252", *(c for c in proposed if c in SINGLE_BYTE), *sorted(SINGLE_BYTE)]
    texts: dict[str, str] = {}
    for codec in dict.fromkeys(order):
        try:
            texts[codec] = data.decode(codec)
        except UnicodeDecodeError:
            continue
    if texts and len(set(texts.values())) == 1:
        return next(iter(texts))
    preferred = CODE_PAGE_OF_LANGUAGE.get(language)
    if preferred is not None and preferred not in texts and _clearly(language, data, proposed):
        _strict(data, preferred, label)  # refuses, naming the first byte the language's code page lacks
    if preferred in texts and _plausible(texts[preferred], western=preferred == "cp1252"):
        return preferred
    if preferred is None and "cp1252" in texts and not implausible_words(texts["cp1252"]):
        return "cp1252"  # the encoding of Western Windows, where most such files come from
    shown = " or ".join(name_of(c) for c in list(texts)[:2])
    differently = f" ({shown} would read it differently)" if len(texts) > 1 else ""
    raise ImportRefused(
        f"{label}: its encoding cannot be told for certain{differently}, so it cannot be decoded safely; {SAVE_AS_UTF8}"
    )


def _clearly(language: str, data: bytes, proposed: list[str]) -> bool:
    """Whether the text says its language plainly enough to blame a byte its code page lacks: a Western one
    shows in its ASCII letters; another needs enough of its own letters in a reading the detector proposed."""
    if CODE_PAGE_OF_LANGUAGE.get(language) == "cp1252":
        return True
    for codec in proposed:
        try:
            if non_ascii_letters(data.decode(codec)) >= MIN_EVIDENCE:
                return True
        except (UnicodeDecodeError, LookupError):
            continue
    return False


def _plausible(text: str, western: bool) -> bool:
    """No implausible word, and (for a non-Western code page) enough of its letters to be sure."""
    return not implausible_words(text) and (western or non_ascii_letters(text) >= MIN_EVIDENCE)


def non_ascii_letters(text: str) -> int:
    return sum(1 for ch in text if ord(ch) > 0x7F and ch.isalpha())


def implausible_words(text: str) -> int:
    """Words no language writes, as a wrong code page makes them: a symbol between two letters (``by³o``,
    Polish ``było`` read as Windows-1252) or letters of two scripts in one word (Latin and Cyrillic)."""
    found = 0
    for match in _NON_ASCII_WORD.finditer(text):
        word = match.group()
        scripts = {_script(ch) for ch in word if ch.isalpha()}
        if len(scripts) > 1 or any(_symbol_inside(word, i) for i, ch in enumerate(word) if ord(ch) > 0x7F):
            found += 1
    return found


def _symbol_inside(word: str, i: int) -> bool:
    ch = word[i]
    if ch.isalpha() or unicodedata.category(ch)[0] == "M" or ch in _WORD_PUNCTUATION:
        return False
    return 0 < i < len(word) - 1 and word[i - 1].isalpha() and word[i + 1].isalpha()


def _script(ch: str) -> str:
    if ord(ch) < 0x80:
        return "LATIN"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"
