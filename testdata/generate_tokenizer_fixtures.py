#!/usr/bin/env python3
"""Writes testdata/tokenizers/: tokenizer.json files trained with Hugging Face `tokenizers`, and the
ids that the real libraries give for a set of test strings (expected.json).

The GGUF vocabularies of ../shared/testmodels are tokenized by transformers' GGUF tokenizer
converter; only the ids are committed, never the models. Run from the repository root:

    /tmp/pyref/bin/python testdata/generate_tokenizer_fixtures.py
"""
import json
import os
import tempfile

import gguf
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tokenizers")
SHARED = os.path.join(HERE, "..", "..", "shared", "testmodels")
CORPUS = os.path.join(SHARED, "corpus-tinystories-valid", "tinystories_valid_head.txt")
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

TEXTS = [
    "Once upon a time, there was a little girl named Lily.",
    "She loved to play outside in the park. One day, she saw a big, red ball.",
    "Hello  world\n\nnew line\tand a tab",
    "   leading spaces and trailing   ",
    "don't I'll we've THEY'RE",
    "héllo ☃ 😀 naïve café",
    "你好，世界",
    "Numbers: 12345 and 3.14159, 1,000,000",
    "\"Quotes\" and (brackets) [x] {y} <z> — dashes – here",
    "a",
    " ",
    "",
]
SPECIAL_TEXT = "<|begin_of_text|>Hello<|end_of_text|> world"


def corpus_lines():
    with open(CORPUS, encoding="utf-8") as f:
        text = f.read()
    return [line for line in text.split("\n") if line.strip()][:3000]


def byte_level():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|begin_of_text|>", "<|end_of_text|>"], show_progress=False)
    tokenizer.train_from_iterator(corpus_lines(), trainer)
    bos = tokenizer.token_to_id("<|begin_of_text|>")
    tokenizer.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)])
    return tokenizer


def metaspace():
    """Llama 2's layout: <unk> <s> </s>, then the 256 byte pieces <0xXX> in the vocabulary (not added tokens), then merges."""
    trained = Tokenizer(models.BPE())
    trained.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False, limit_alphabet=100)
    trained.train_from_iterator(corpus_lines(), trainer)
    model = json.loads(trained.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{value:02X}>": 3 + value for value in range(256)})
    for piece in sorted(model["vocab"], key=model["vocab"].get):
        vocab.setdefault(piece, len(vocab))
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in model["merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, fuse_unk=True, unk_token="<unk>"))
    tokenizer.add_special_tokens(["<unk>", "<s>", "</s>"])
    tokenizer.normalizer = trained.normalizer
    tokenizer.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tokenizer


def gguf_ids(path, strip_keys):
    """transformers' GGUF tokenizer conversion; stories260K's separator/padding id 0xFFFFFFFF trips it, so drop those keys."""
    reader = gguf.GGUFReader(path)
    with tempfile.TemporaryDirectory() as directory:
        copy = os.path.join(directory, "vocab.gguf")
        writer = gguf.GGUFWriter(copy, "llama")
        for field in reader.fields.values():
            if not field.name.startswith("tokenizer.") or field.name in strip_keys:
                continue
            value = field.contents()
            vtype = field.types[0]
            if vtype == gguf.GGUFValueType.ARRAY:
                writer.add_key_value(field.name, value, vtype, sub_type=field.types[-1])
            else:
                writer.add_key_value(field.name, value, vtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.close()
        tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file="vocab.gguf")
        return [{"text": text, "ids": tokenizer.encode(text, add_special_tokens=False)} for text in TEXTS]


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for name, tokenizer in (("bytelevel-bpe", byte_level()), ("metaspace-bpe", metaspace())):
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        tokenizer.save(os.path.join(folder, "tokenizer.json"))
        cases = [{"text": text, "ids": tokenizer.encode(text, add_special_tokens=False).ids,
                  "with_bos": tokenizer.encode(text).ids, "decoded": tokenizer.decode(tokenizer.encode(text, add_special_tokens=False).ids)}
                 for text in TEXTS + ([SPECIAL_TEXT] if name == "bytelevel-bpe" else [])]
        expected[name] = cases
    with open(os.path.join(OUT, "bytelevel-bpe", "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|end_of_text|>"}, f)
    expected["stories260K-gguf"] = gguf_ids(os.path.join(SHARED, "stories260K-gguf", "stories260K.gguf"),
                                            {"tokenizer.ggml.seperator_token_id", "tokenizer.ggml.padding_token_id"})
    expected["llama2-tiny-random-gguf"] = gguf_ids(os.path.join(SHARED, "llama2-tiny-random-gguf", "llama-2-tiny-random.gguf"), set())
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
