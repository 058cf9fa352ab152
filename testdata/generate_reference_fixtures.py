#!/usr/bin/env python3
"""Writes the reference fixtures in testdata/reference/ with the real libraries (not spikeconv code).

Tests compare spikeconv's readers against files these libraries wrote, so a misreading of a format
cannot hide behind a matching writer of our own. Run once; the outputs are committed.

    python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install torch transformers safetensors gguf numpy
    /tmp/pyref/bin/python testdata/generate_reference_fixtures.py

Versions used for the committed files are written to testdata/reference/VERSIONS.txt.
"""
import json
import os
import shutil
import sys

import gguf
import numpy as np
import safetensors
import torch
import transformers
from gguf import GGMLQuantizationType as Q
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reference")
TOKENS = [1, 5, 9, 20, 33, 47, 2, 60]


def fresh(name):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save_logits(model, path):
    with torch.no_grad():
        logits = model(torch.tensor([TOKENS])).logits[0].float().numpy()
    np.save(os.path.join(path, "logits.npy"), logits.astype(np.float32))
    with open(os.path.join(path, "tokens.json"), "w") as f:
        json.dump(TOKENS, f)


def save_safetensors(model, path, **kwargs):
    model.save_pretrained(path, **kwargs)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(path, extra)):
            os.remove(os.path.join(path, extra))


def save_pytorch(model, path, shards=1):
    """torch.save of the state dict, as transformers 4 wrote pytorch_model.bin (tied weights share storage)."""
    model.config.save_pretrained(path)
    state = model.state_dict()
    if shards == 1:
        torch.save(state, os.path.join(path, "pytorch_model.bin"))
        return
    names = list(state.keys())
    per_shard = (len(names) + shards - 1) // shards
    weight_map = {}
    for index in range(shards):
        file = f"pytorch_model-{index + 1:05d}-of-{shards:05d}.bin"
        part = {name: state[name] for name in names[index * per_shard:(index + 1) * per_shard]}
        torch.save(part, os.path.join(path, file))
        weight_map.update({name: file for name in part})
    with open(os.path.join(path, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)


def models():
    torch.manual_seed(20261201)
    common = dict(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4)
    qwen2 = Qwen2ForCausalLM(Qwen2Config(num_key_value_heads=2, tie_word_embeddings=True, **common))
    qwen3 = Qwen3ForCausalLM(Qwen3Config(num_key_value_heads=2, head_dim=8, tie_word_embeddings=False, **common))
    llama = LlamaForCausalLM(LlamaConfig(num_key_value_heads=2, tie_word_embeddings=False, rms_norm_eps=1e-5, **common))
    for model in (qwen2, qwen3, llama):
        # Random init leaves norms at 1 and biases at 0; make them informative.
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name.endswith("norm.weight") or name.endswith(".bias"):
                    parameter.copy_(torch.randn_like(parameter) * 0.5 + (1.0 if "norm" in name else 0.0))
        model.eval()
    return qwen2, qwen3, llama


def quantized_blocks():
    """One tensor per GGML block type, with the float values gguf-py's reference dequantizer gives for it."""
    rng = np.random.RandomState(7)
    writer = gguf.GGUFWriter(os.path.join(OUT, "quantized-blocks.gguf"), "llama")
    for qtype in (Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        rows, columns = 3, 512
        if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
            # gguf-py cannot quantize K types; random bytes with sane half-precision scales are just as good a test.
            raw = rng.randint(0, 256, size=(rows, columns // block_size, type_size)).astype(np.uint8)
            halves = rng.uniform(0.001, 0.05, size=(rows, columns // block_size, 2)).astype(np.float16).view(np.uint8)
            if qtype == Q.Q6_K:
                raw[..., 208:210] = halves[..., 0:2]
            else:
                raw[..., 0:4] = halves
            quantized = raw.reshape(rows, -1)
        else:
            quantized = gguf.quants.quantize(rng.randn(rows, columns).astype(np.float32), qtype)
        expected = gguf.quants.dequantize(quantized, qtype).astype(np.float32)
        writer.add_tensor(f"{qtype.name}.quantized", quantized, raw_dtype=qtype)
        writer.add_tensor(f"{qtype.name}.expected", expected)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    qwen2, qwen3, llama = models()

    path = fresh("tiny-qwen2")
    save_safetensors(qwen2, path)
    save_logits(qwen2, path)
    save_pytorch(qwen2, fresh("tiny-qwen2-pytorch"))

    path = fresh("tiny-qwen3")
    save_safetensors(qwen3, path)
    save_logits(qwen3, path)

    path = fresh("tiny-llama")
    save_safetensors(llama, path)
    save_logits(llama, path)
    save_safetensors(llama, fresh("tiny-llama-sharded"), max_shard_size="12KB")
    save_pytorch(llama, fresh("tiny-llama-pytorch-sharded"), shards=3)
    llama_bf16 = llama.to(torch.bfloat16)
    save_safetensors(llama_bf16, fresh("tiny-llama-bf16"))
    save_pytorch(llama_bf16, fresh("tiny-llama-bf16-pytorch"))

    quantized_blocks()
    with open(os.path.join(OUT, "VERSIONS.txt"), "w") as f:
        f.write(f"python {sys.version.split()[0]}\ntorch {torch.__version__}\ntransformers {transformers.__version__}\n"
                f"safetensors {safetensors.__version__}\ngguf {getattr(gguf, '__version__', 'installed')}\nnumpy {np.__version__}\n")


if __name__ == "__main__":
    main()
