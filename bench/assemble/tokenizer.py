"""A CLIP tokenizer made in code: byte-level vocabulary, no merges, works offline.

Every byte maps to one printable symbol (the usual byte-level BPE alphabet), so any text
tokenizes to one token per byte; that is all random-weight presets need, and its length
(77 tokens, padded) matches the real SDXL tokenizers, so the text encoders do the same work.
"""

from __future__ import annotations

START = "<|startoftext|>"
END = "<|endoftext|>"


def byte_symbols() -> list[str]:
    """One printable unicode symbol per byte value, in byte order."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    symbols = {}
    shift = 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + shift)
            shift += 1
    return [symbols[b] for b in range(256)]


def byte_vocab() -> dict[str, int]:
    """256 byte symbols, the same with ``</w>``, then the start and end tokens (ids 512, 513)."""
    symbols = byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + [START, END]
    return {token: index for index, token in enumerate(tokens)}


def build_tokenizer(pad_token: str = END):
    """A ``CLIPTokenizer`` over ``byte_vocab``; SDXL pads tokenizer_2 with '!' instead."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer(vocab=byte_vocab(), merges=[], model_max_length=77, pad_token=pad_token)


END_TOKEN_ID = 513
