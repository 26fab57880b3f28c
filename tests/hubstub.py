"""A Hugging Face Hub stand-in on 127.0.0.1 for end-to-end tests of the Hub source (no real network, ever).

It answers the calls ``huggingface_hub`` makes, with the headers it relies on:

- ``GET /api/models/{repo}[/revision/{rev}]`` (model info: ``sha``, ``siblings`` with sizes, blob ids and LFS info,
  ``gated``, ``private``), ``GET /api/models/{repo}/refs``
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ``Range`` (206 + ``Content-Range``), ``X-Repo-Commit``,
  ``ETag`` / ``X-Linked-Etag`` / ``X-Linked-Size`` for LFS files, ``Accept-Ranges``
- ``GET /api/models/{repo}/safetensors-metadata/{index}`` (every shard header in one response; can be switched off)
- ``GET /api/models?author=&search=&expand=sha`` (the models listing, paged with a ``Link`` header)
- errors the way the Hub sends them: ``X-Error-Code`` RepoNotFound (401/404), GatedRepo (401/403),
  RevisionNotFound (404), EntryNotFound (404)

Faults for the tests: added latency per request, a list of statuses to answer before succeeding (429/5xx, with a
chosen Retry-After), a
connection dropped after N body bytes, a server that ignores ``Range`` (and streams the whole file), a server that
answers a different range than asked. Files are virtual sparse files: a real prefix (the header, or the whole small
file) followed by zeros up to the real size; nothing that large is ever held in memory.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


# --------------------------------------------------------------------------------------------- building material

def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def build_header(tensors, metadata: dict | None = None) -> tuple[bytes, int]:
    """(8-byte length + JSON header, data bytes) for ``tensors`` = [(name, dtype, shape)], laid out in order.

    Like the reference writer: compact JSON, padded with spaces to a multiple of 8 bytes.
    """
    obj: dict = {}
    if metadata is not None:
        obj["__metadata__"] = metadata
    pos = 0
    for name, dtype, shape in tensors:
        n = math.prod(shape) * DTYPE_BYTES[dtype]
        obj[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [pos, pos + n]}
        pos += n
    raw = json.dumps(obj, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, pos


def shard_tensors(tensors, max_shard_bytes: int) -> list[list]:
    """Split [(name, dtype, shape)] into shards the way ``save_pretrained`` does: in order, a new shard when the
    next tensor would push the current one past the limit."""
    shards: list[list] = [[]]
    cur = 0
    for t in tensors:
        n = math.prod(t[2]) * DTYPE_BYTES[t[1]]
        if shards[-1] and cur + n > max_shard_bytes:
            shards.append([])
            cur = 0
        shards[-1].append(t)
        cur += n
    return shards


@dataclass
class StubFile:
    size: int
    prefix: bytes  #: the real bytes at the start (the whole file for small files)
    lfs: bool = False
    etag: str = ""
    suffix: bytes = b""  #: real bytes at the end (a zip's central directory); zeros between prefix and suffix

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) (end exclusive, clipped to the size)."""
        end = min(end, self.size)
        if start >= end:
            return b""
        head = self.prefix[start:end]
        out = head + b"\0" * (end - start - len(head))
        if self.suffix:
            s0 = self.size - len(self.suffix)
            if end > s0:
                a = max(start, s0)
                out = out[:a - start] + self.suffix[a - s0:end - s0]
        return out


def small_file(data: bytes) -> StubFile:
    return StubFile(size=len(data), prefix=data, lfs=False, etag=git_blob_sha1(data))


def weights_file(header: bytes, data_bytes: int) -> StubFile:
    size = len(header) + data_bytes
    return StubFile(size=size, prefix=header, lfs=True,
                    etag=hashlib.sha256(header + str(size).encode()).hexdigest())


def sharded_files(shards: list[list], metadata: dict | None = None, prefix: str = "model") -> dict[str, StubFile]:
    """Shard files + index (HF naming, ``sort_keys`` index with the real total_size of the tensor data)."""
    files: dict[str, StubFile] = {}
    weight_map = {}
    total = 0
    n = len(shards)
    for i, sh in enumerate(shards, 1):
        name = f"{prefix}-{i:05d}-of-{n:05d}.safetensors"
        hdr, data = build_header(sh, metadata if metadata is not None else {"format": "pt"})
        files[name] = weights_file(hdr, data)
        total += data
        for t in sh:
            weight_map[t[0]] = name
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    files[f"{prefix}.safetensors.index.json"] = small_file(json.dumps(index, indent=2, sort_keys=True).encode())
    return files


def files_from_dir(folder: Path, names=None) -> dict[str, StubFile]:
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and (names is None or p.name in names):
            out[p.name] = small_file(p.read_bytes())
    return out


def llama_tensors(cfg: dict, order_from_index: dict | None = None) -> list:
    """The tensors of a Llama-style checkpoint (test material, written from the modeling code, not ckptscope)."""
    h, inter, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or h // nh
    dt = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}[cfg.get("torch_dtype", "bfloat16")]
    v = cfg["vocab_size"]
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not cfg.get("tie_word_embeddings"):
        shapes["lm_head.weight"] = (v, h)
    for i in range(L):
        p = f"model.layers.{i}."
        shapes.update({
            p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
            p + "self_attn.q_proj.weight": (nh * hd, h), p + "self_attn.k_proj.weight": (nkv * hd, h),
            p + "self_attn.v_proj.weight": (nkv * hd, h), p + "self_attn.o_proj.weight": (h, nh * hd),
            p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h),
            p + "mlp.down_proj.weight": (h, inter),
        })
    return [(n, dt, s) for n, s in shapes.items()]


def deepseek_v3_tensors(cfg: dict) -> list:
    """DeepSeek-V3's tensors as its FP8 release stores them (weights F8_E4M3 with 128x128 ``weight_scale_inv``
    F32 grids, norms/router/embeddings BF16, MTP layer 61). Benchmark material, written from the modeling code."""
    h, L = cfg["hidden_size"], cfg["num_hidden_layers"] + cfg.get("num_nextn_predict_layers", 0)
    nh, qr, kvr = cfg["num_attention_heads"], cfg["q_lora_rank"], cfg["kv_lora_rank"]
    nope, rope, vd = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    E, mi, di = cfg["n_routed_experts"], cfg["moe_intermediate_size"], cfg["intermediate_size"]
    v, k_dense = cfg["vocab_size"], cfg["first_k_dense_replace"]
    out = []

    def fp8(name, shape):
        out.append((name + ".weight", "F8_E4M3", shape))
        out.append((name + ".weight_scale_inv", "F32", (math.ceil(shape[0] / 128), math.ceil(shape[1] / 128))))

    def bf16(name, shape):
        out.append((name, "BF16", shape))

    bf16("model.embed_tokens.weight", (v, h))
    for i in range(L):
        p = f"model.layers.{i}."
        bf16(p + "input_layernorm.weight", (h,))
        bf16(p + "post_attention_layernorm.weight", (h,))
        fp8(p + "self_attn.q_a_proj", (qr, h))
        bf16(p + "self_attn.q_a_layernorm.weight", (qr,))
        fp8(p + "self_attn.q_b_proj", (nh * (nope + rope), qr))
        fp8(p + "self_attn.kv_a_proj_with_mqa", (kvr + rope, h))
        bf16(p + "self_attn.kv_a_layernorm.weight", (kvr,))
        fp8(p + "self_attn.kv_b_proj", (nh * (nope + vd), kvr))
        fp8(p + "self_attn.o_proj", (h, nh * vd))
        if i < k_dense:
            fp8(p + "mlp.gate_proj", (di, h))
            fp8(p + "mlp.up_proj", (di, h))
            fp8(p + "mlp.down_proj", (h, di))
        else:
            bf16(p + "mlp.gate.weight", (E, h))
            out.append((p + "mlp.gate.e_score_correction_bias", "F32", (E,)))
            for e in range(E):
                fp8(p + f"mlp.experts.{e}.gate_proj", (mi, h))
                fp8(p + f"mlp.experts.{e}.up_proj", (mi, h))
                fp8(p + f"mlp.experts.{e}.down_proj", (h, mi))
            sh = mi * cfg["n_shared_experts"]
            fp8(p + "mlp.shared_experts.gate_proj", (sh, h))
            fp8(p + "mlp.shared_experts.up_proj", (sh, h))
            fp8(p + "mlp.shared_experts.down_proj", (h, sh))
        if i >= cfg["num_hidden_layers"]:  # the MTP layer's extra modules
            bf16(p + "enorm.weight", (h,))
            bf16(p + "hnorm.weight", (h,))
            bf16(p + "eh_proj.weight", (h, 2 * h))
            bf16(p + "shared_head.norm.weight", (h,))
            bf16(p + "shared_head.head.weight", (v, h))
    bf16("model.norm.weight", (h,))
    bf16("lm_head.weight", (v, h))
    return out


# --------------------------------------------------------------------------------------------------- the server

@dataclass
class StubRepo:
    repo_id: str
    files: dict[str, StubFile]
    sha: str = ""
    refs: dict[str, str] = field(default_factory=dict)  #: branch/tag -> commit
    old: dict[str, dict[str, StubFile]] = field(default_factory=dict)  #: other commits -> their files
    gated: bool = False
    private: bool = False

    def __post_init__(self):
        if not self.sha:
            self.sha = hashlib.sha1(("commit " + self.repo_id).encode()).hexdigest()
        self.refs.setdefault("main", self.sha)

    def resolve(self, rev: str | None) -> tuple[str, dict[str, StubFile]] | None:
        rev = rev or "main"
        sha = self.refs.get(rev, rev)
        if sha == self.sha:
            return sha, self.files
        if sha in self.old:
            return sha, self.old[sha]
        return None


@dataclass
class Faults:
    latency: float = 0.0  #: seconds added to every request
    statuses: dict[str, list[int]] = field(default_factory=dict)  #: path suffix -> statuses to send first
    drop_after: dict[str, int] = field(default_factory=dict)  #: path suffix -> close after N body bytes (once)
    ignore_range: bool = False  #: answer 200 with the whole file to ranged GETs
    wrong_range: bool = False  #: answer 206 for a range that starts elsewhere
    sharded_metadata: bool = True  #: serve /api/models/{repo}/safetensors-metadata/{index}
    silent: bool = False  #: accept every request and never answer (a hung server; released by stop())
    trickle: float = 0.0  #: seconds between 1-byte writes of every body (a server that answers, slowly)
    retry_after: str = "0"  #: the Retry-After header sent with a 429 from ``statuses``
    list_page_size: int = 1000  #: models per page of the /api/models listing (the Hub's page is 1000)
    short_range: dict[str, int] = field(default_factory=dict)  #: path suffix -> send at most N bytes of every
    #: ranged answer, with a matching Content-Length and a Content-Range that still claims the range asked (always)
    range_total: int | None = None  #: the file size claimed in every Content-Range (a server that lies about it)


class HubStub:
    """``with HubStub() as hub: hub.add(StubRepo(...)); os.environ["HF_ENDPOINT"] = hub.url``."""

    def __init__(self, token: str = "hf_stub_token") -> None:
        self.repos: dict[str, StubRepo] = {}
        self.faults = Faults()
        self.token = token
        self._log: list[dict] = []  #: one entry per request: method, path, range, status, sent (body bytes), t
        self._inflight = 0  #: requests whose handler has not logged yet
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.halt = threading.Event()  #: set by stop(): silent handlers return
        #: the listen backlog: a real Hub accepts bursts of connections; socketserver's default of 5 makes a burst
        #: of parallel clients wait for a SYN retransmission (a one-second stall that is the stand-in's, not the Hub's)
        self.backlog = 128

    def add(self, repo: StubRepo) -> StubRepo:
        self.repos[repo.repo_id] = repo
        return repo

    # --- lifecycle
    def start(self) -> "HubStub":
        stub = self

        class Handler(_Handler):
            hub = stub

        class Server(ThreadingHTTPServer):
            request_queue_size = stub.backlog

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, client_address: None  # clients hanging up early are normal
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.halt.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "HubStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- accounting
    def begin(self) -> None:
        with self._lock:
            self._inflight += 1

    def record(self, **ent) -> None:
        ent.setdefault("t", time.monotonic())  #: when the response was sent (monotonic seconds)
        with self._lock:
            self._log.append(ent)
            self._inflight = max(0, self._inflight - 1)

    @property
    def log(self) -> list[dict]:
        """The requests so far, once every handler has logged (a client can finish reading a response before the
        server thread that sent it records it)."""
        deadline = time.monotonic() + 2.0
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.005)
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def requests(self) -> int:
        return len(self.log)

    @property
    def bytes_sent(self) -> int:
        return sum(e["sent"] for e in self.log)

    def pop_status(self, path: str) -> int | None:
        with self._lock:
            for suffix, seq in self.faults.statuses.items():
                if path.endswith(suffix) and seq:
                    return seq.pop(0)
        return None

    def pop_drop(self, path: str) -> int | None:
        with self._lock:
            for suffix in list(self.faults.drop_after):
                if path.endswith(suffix):
                    return self.faults.drop_after.pop(suffix)
        return None


_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    hub: HubStub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    # --- plumbing
    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, *, head: bool = False,
              content_length: int | None = None) -> None:
        self.send_response(status)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        self.end_headers()
        sent = 0
        if not head and body and self.hub.faults.trickle:
            try:
                for i in range(len(body)):
                    if self.hub.halt.wait(self.hub.faults.trickle):
                        break
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    sent += 1
            except OSError:
                pass
        elif not head and body:
            try:
                self.wfile.write(body)
                sent = len(body)
            except OSError:
                pass
        self._done(status, sent)

    def _done(self, status: int, sent: int) -> None:
        self.hub.record(method=self.command, path=urlsplit(self.path).path, range=self.headers.get("Range"),
                        status=status, sent=sent)

    def _error(self, status: int, code: str | None, message: str, *, head: bool = False, commit: str | None = None,
               extra: dict | None = None):
        h = {"X-Error-Message": message, **(extra or {})}
        if code:
            h["X-Error-Code"] = code
        if commit:
            h["X-Repo-Commit"] = commit
        self._send(status, json.dumps({"error": message}).encode(), h, head=head)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.hub.token}"

    def _repo(self, org: str, name: str, head: bool = False) -> StubRepo | None:
        repo = self.hub.repos.get(f"{org}/{name}")
        if repo is None or (repo.private and not self._authorized()):
            self._error(401, "RepoNotFound", "Repository not found", head=head)
            return None
        return repo

    # --- verbs
    def parse_request(self) -> bool:
        ok = super().parse_request()
        if ok:
            self.hub.begin()
        return ok

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _dispatch(self, head: bool) -> None:
        hub = self.hub
        if hub.faults.latency:
            time.sleep(hub.faults.latency)
        if hub.faults.silent:
            hub.halt.wait()
            self.close_connection = True
            return hub.record(method=self.command, path=self.path, range=None, status=None, sent=0)
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        status = hub.pop_status(path)
        if status is not None:
            return self._error(status, None, f"stub fault {status}", head=head,
                               extra={"Retry-After": hub.faults.retry_after} if status == 429 else None)
        if re.match(r"^/api/models/?$", path):
            return self._list_models(parse_qs(parts.query), head)
        m = re.match(r"^/api/models/([^/]+)/([^/]+)(?:/revision/(.+))?$", path)
        if m:
            return self._model_info(m.group(1), m.group(2), m.group(3), parse_qs(parts.query), head)
        m = re.match(r"^/api/models/([^/]+)/([^/]+)/refs$", path)
        if m:
            return self._refs(m.group(1), m.group(2))
        m = re.match(r"^/api/models/([^/]+)/([^/]+)/safetensors-metadata/(.+)$", path)
        if m:
            return self._sharded_metadata(m.group(1), m.group(2), m.group(3))
        m = re.match(r"^/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)$", path)
        if m:
            return self._resolve(m.group(1), m.group(2), m.group(3), m.group(4), head)
        self._error(404, None, "Not Found", head=head)

    def _model_info(self, org, name, rev, query, head) -> None:
        repo = self._repo(org, name, head)
        if repo is None:
            return
        r = repo.resolve(rev)
        if r is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
        sha, files = r
        blobs = "blobs" in query
        siblings = []
        for fn in sorted(files):
            f = files[fn]
            s: dict = {"rfilename": fn}
            if blobs:
                s["size"] = f.size
                s["blobId"] = git_blob_sha1(f.prefix[:200]) if f.lfs else f.etag
                if f.lfs:
                    s["lfs"] = {"size": f.size, "sha256": f.etag, "pointerSize": 134}
            siblings.append(s)
        body = {"_id": "stub", "id": repo.repo_id, "modelId": repo.repo_id, "sha": sha, "private": repo.private,
                "gated": "manual" if repo.gated else False, "disabled": False, "tags": [], "siblings": siblings,
                "lastModified": "2024-12-26T00:00:00.000Z", "createdAt": "2024-12-25T00:00:00.000Z"}
        self._send(200, json.dumps(body).encode(), head=head)

    def _list_models(self, query, head) -> None:
        """``GET /api/models?author=&search=&expand=sha&limit=`` as the Hub answers it: a JSON list of model
        entries (``id``, ``_id``, ``modelId``, and each ``expand`` field asked), pages joined by a ``Link:
        <...>; rel="next"`` header (``cursor`` = offset). Private repos are listed only with the token."""
        author = (query.get("author") or [None])[0]
        search = (query.get("search") or [None])[0]
        expand = query.get("expand") or []
        limit = int((query.get("limit") or [0])[0] or 0)
        start = int((query.get("cursor") or [0])[0] or 0)
        ids = sorted(r for r, repo in self.hub.repos.items()
                     if (author is None or r.split("/")[0] == author)
                     and (search is None or search.lower() in r.lower())
                     and (not repo.private or self._authorized()))
        if limit:
            ids = ids[:limit]
        page = ids[start:start + self.hub.faults.list_page_size]
        body = []
        for rid in page:
            repo = self.hub.repos[rid]
            ent = {"_id": hashlib.sha1(rid.encode()).hexdigest()[:24], "id": rid, "modelId": rid}
            if "sha" in expand:
                ent["sha"] = repo.sha
            if "private" in expand:
                ent["private"] = repo.private
            if "gated" in expand:
                ent["gated"] = "manual" if repo.gated else False
            body.append(ent)
        hdrs = {}
        nxt = start + len(page)
        if nxt < len(ids):
            q = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs] + [("cursor", str(nxt))]
            from urllib.parse import urlencode

            hdrs["Link"] = f'<{self.hub.url}/api/models?{urlencode(q)}>; rel="next"'
        self._send(200, json.dumps(body).encode(), hdrs, head=head)

    def _refs(self, org, name) -> None:
        repo = self._repo(org, name)
        if repo is None:
            return
        br = [{"name": k, "ref": f"refs/heads/{k}", "targetCommit": v} for k, v in sorted(repo.refs.items())]
        self._send(200, json.dumps({"branches": br, "tags": [], "converts": []}).encode())

    def _gate(self, repo: StubRepo, head: bool) -> bool:
        if repo.gated and not self._authorized():
            self._error(401, "GatedRepo", f"Access to model {repo.repo_id} is restricted. You must have access to "
                        "it and be authenticated to access it. Please log in.", head=head)
            return False
        return True

    def _sharded_metadata(self, org, name, index_name) -> None:
        repo = self._repo(org, name)
        if repo is None:
            return
        if not self.hub.faults.sharded_metadata:
            return self._error(404, None, "Not Found")
        if not self._gate(repo, False):
            return
        f = repo.files.get(index_name)
        if f is None:
            return self._error(404, "EntryNotFound", f"{index_name} does not exist")
        index = json.loads(f.prefix)
        headers = {}
        for shard in sorted(set(index["weight_map"].values())):
            sf = repo.files[shard]
            n = struct.unpack("<Q", sf.prefix[:8])[0]
            headers[shard] = json.loads(sf.prefix[8:8 + n])
        index = {k: v for k, v in index.items() if k != "weight_map"}
        self._send(200, json.dumps({"index": index, "headers": headers}).encode(),
                   {"X-Repo-Commit": repo.sha})

    def _resolve(self, org, name, rev, fn, head) -> None:
        repo = self._repo(org, name, head)
        if repo is None:
            return
        r = repo.resolve(rev)
        if r is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
        sha, files = r
        if not self._gate(repo, head):
            return
        f = files.get(fn)
        if f is None:
            return self._error(404, "EntryNotFound", f"{fn} does not exist on {rev}", head=head, commit=sha)
        hdrs = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if f.lfs:
            hdrs.update({"ETag": f'"{f.etag}"', "X-Linked-Etag": f'"{f.etag}"', "X-Linked-Size": str(f.size)})
        else:
            hdrs["ETag"] = f'"{f.etag}"'
        rng = self.headers.get("Range")
        start, end = 0, f.size  # end exclusive
        status = 200
        if rng and not self.hub.faults.ignore_range:
            m = _RANGE.match(rng.strip())
            if m is None:
                return self._error(416, None, "bad range", head=head)
            start = int(m.group(1))
            end = min(f.size, int(m.group(2)) + 1) if m.group(2) else f.size
            if start >= f.size:
                return self._send(416, b"", {"Content-Range": f"bytes */{f.size}"}, head=head)
            if self.hub.faults.wrong_range:
                start, end = start + 8, end + 8
                end = min(end, f.size)
            status = 206
            total = f.size if self.hub.faults.range_total is None else self.hub.faults.range_total
            hdrs["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
            short = next((n for sfx, n in self.hub.faults.short_range.items() if fn.endswith(sfx)), None)
            if short is not None:
                end = min(end, start + short)
        if head:
            return self._send(status, b"", hdrs, head=True, content_length=end - start)
        drop = self.hub.pop_drop(fn)
        self.send_response(status)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        sent = 0
        pos = start
        limit = end if drop is None else min(end, start + drop)
        try:
            while pos < limit:
                chunk = f.read(pos, min(limit, pos + (1 << 16)))
                self.wfile.write(chunk)
                sent += len(chunk)
                pos += len(chunk)
        except OSError:  # the client closed early (what it should do when the server ignores Range)
            pass
        if drop is not None:
            self._done(status, sent)  # logged before the client can see the drop (and retry)
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        self._done(status, sent)


# --------------------------------------------------------------------------------------------------- test material

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "checkpoints"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
LLAMA70_ID = "mattshumer/Reflection-Llama-3.1-70B"


def minilm_files() -> dict[str, StubFile]:
    """all-MiniLM-L6-v2: the byte-exact real header in a virtual file of the real size, real small files."""
    d = FIX / "pypi-all-minilm-l6-v2"
    facts = json.loads((d / "model.safetensors.facts.json").read_text())
    files = files_from_dir(d, {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                               "vocab.txt", "modules.json", "README.md"})
    files["model.safetensors"] = StubFile(size=facts["size_bytes"], prefix=(d / "model.safetensors.head").read_bytes(),
                                          lfs=True, etag=facts["sha256"])
    return files


def llama70_files() -> dict[str, StubFile]:
    """Reflection-Llama-3.1-70B: the real index's tensor-to-shard assignment (162 shards), shapes from the Llama
    modeling code, real config/generation/tokenizer config."""
    d = FIX / "github-reflection-llama-3.1-70b"
    cfg = json.loads((d / "config.json").read_text())
    wm = json.loads((d / "model.safetensors.index.json").read_text())["weight_map"]
    n = len(set(wm.values()))
    shards: list[list] = [[] for _ in range(n)]
    for t in llama_tensors(cfg):
        shards[int(wm[t[0]].split("-")[1]) - 1].append(t)
    files = sharded_files(shards)
    files.update(files_from_dir(d, {"config.json", "generation_config.json", "tokenizer_config.json",
                                    "special_tokens_map.json"}))
    return files


def write_local(files: dict[str, StubFile], folder: Path) -> Path:
    """The same repo as a local folder of sparse files (for comparing the Hub path with the local one)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, f in files.items():
        with open(folder / name, "wb") as out:
            out.write(f.prefix)
            out.truncate(f.size)
    return folder


def files_from_tree(folder: Path) -> dict[str, StubFile]:
    """Every file under ``folder`` (subfolders included, '/'-separated names) served whole; weight files as LFS."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            name = p.relative_to(folder).as_posix()
            lfs = name.endswith((".safetensors", ".onnx", ".onnx_data", ".bin"))
            out[name] = StubFile(size=len(data), prefix=data, lfs=lfs,
                                 etag=hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data))
    return out
