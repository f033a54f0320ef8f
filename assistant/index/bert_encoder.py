"""Mean-pooled sentence embeddings from a BERT checkpoint in plain torch.

Importing sentence-transformers pulls in transformers, scikit-learn and scipy.stats: 3-6 s and
~200 MB before the first vector, which is most of `papers ask`'s start-up. For the shape of model
the product ships (BertModel + mean pooling [+ normalize], absolute positions, GELU) the forward pass
is a dozen torch calls on the safetensors weights, with the Rust `tokenizers` for tokenization; any
other model keeps going through sentence-transformers. tests/test_embed_backends.py checks the
vectors against sentence-transformers' own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_OTHER_POOLING = (
    "pooling_mode_cls_token",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def supports(path: Path) -> bool:
    """A local sentence-transformers folder this encoder reproduces exactly."""
    try:
        modules = _json(path / "modules.json")
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]:
            return False
        pooling = _json(path / modules[1]["path"] / "config.json")
        if not pooling.get("pooling_mode_mean_tokens") or any(pooling.get(k) for k in _OTHER_POOLING):
            return False
        cfg = _json(path / "config.json")
        st_cfg = path / "config_sentence_transformers.json"
        if st_cfg.exists() and (_json(st_cfg).get("prompts") or _json(st_cfg).get("default_prompt_name")):
            return False
        return (
            cfg.get("model_type") == "bert"
            and cfg.get("position_embedding_type", "absolute") == "absolute"
            and cfg.get("hidden_act") == "gelu"
            and (path / "model.safetensors").exists()
            and (path / "tokenizer.json").exists()
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


class BertEncoder:
    def __init__(self, path: Path, device: str = "cpu") -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"CUDA is not available to torch {torch.__version__} on this machine")
        cfg = _json(path / "config.json")
        self.hidden = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        max_len = int(cfg.get("max_position_embeddings", 512))
        sbert = path / "sentence_bert_config.json"
        if sbert.exists():
            max_len = min(max_len, int(_json(sbert).get("max_seq_length") or max_len))
        self.device = torch.device(device)
        weights = load_file(str(path / "model.safetensors"), device=str(self.device))
        w = {k.removeprefix("bert."): v.float() for k, v in weights.items()}
        self._w = w
        # One matmul for query, key and value instead of three.
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            w[p + "qkv.weight"] = torch.cat([w[p + n + ".weight"] for n in ("query", "key", "value")])
            w[p + "qkv.bias"] = torch.cat([w[p + n + ".bias"] for n in ("query", "key", "value")])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_len)
        pad_id = int(cfg.get("pad_token_id") or 0)
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=self.tokenizer.id_to_token(pad_id) or "[PAD]")
        self._torch = torch

    def _forward(self, ids: Any, mask: Any) -> Any:
        torch = self._torch
        F = torch.nn.functional
        w, hid, heads = self._w, self.hidden, self.heads
        b, s = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:s]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = F.layer_norm(x, (hid,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        keep = mask[:, None, None, :].bool()
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = F.linear(x, w[p + "attention.self.qkv.weight"], w[p + "attention.self.qkv.bias"])
            q, k, v = qkv.view(b, s, 3, heads, hid // heads).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(b, s, hid)
            ctx = F.linear(ctx, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])
            x = F.layer_norm(
                ctx + x,
                (hid,),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            h = F.gelu(F.linear(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]))
            h = F.linear(h, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
            x = F.layer_norm(h + x, (hid,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        return x

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised mean-pooled vectors, in input order (batches are formed longest first)."""
        torch = self._torch
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer.encode_batch([texts[j] for j in idx])
                ids = torch.tensor([e.ids for e in enc], dtype=torch.long, device=self.device)
                mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long, device=self.device)
                hidden = self._forward(ids, mask)
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.cpu().numpy()
        return out
