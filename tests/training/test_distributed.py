"""Data-parallel training with torchrun + gloo equals one process with the same global batch."""

from __future__ import annotations

import os
import random
import subprocess
import sys

from melodyrnn.models import checkpoint as ckpt

TRAIN = ["--epochs", "4", "--batch-size", "4", "--stop-accuracy", "2", "--no-progress",
         "--no-cache", "--device", "cpu"]


def corpus(path) -> None:
    rng = random.Random(1)
    songs = [" ".join(rng.choice("cdefgab") + rng.choice("48") for _ in range(rng.randint(8, 30)))
             for _ in range(11)]  # 11 songs: the last batch of 4 splits unevenly over 2 ranks
    path.write_text("\n\n".join(songs) + "\n", encoding="utf-8")


def run(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    songs = tmp_path / "songs.txt"
    corpus(songs)
    two = run([sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "melodyrnn", "train", str(songs), *TRAIN,
               "-o", "two.pt"], tmp_path)
    assert two.returncode == 0, two.stderr[-2000:]
    assert "data-parallel training: 2 processes" in two.stderr
    assert two.stderr.count("saved model") + two.stdout.count("saved model") == 1  # rank 0 only
    one = run([sys.executable, "-m", "melodyrnn", "train", str(songs), *TRAIN, "-o", "one.pt"],
              tmp_path)
    assert one.returncode == 0, one.stderr[-2000:]
    a = ckpt.load(tmp_path / "two.pt").model.state_dict()
    b = ckpt.load(tmp_path / "one.pt").model.state_dict()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4


def test_each_process_gets_a_disjoint_share_of_every_batch():
    from melodyrnn.training.distributed import Group
    from melodyrnn.training.episodes import IGNORE, StreamBatching, stream_episodes

    streams = [[i, i + 1, i + 2] for i in range(5)]
    episodes = stream_episodes(streams, StreamBatching(batch_size=3, bptt=8))
    shards = [Group(rank, 2).shard(episodes) for rank in range(2)]
    for index, episode in enumerate(episodes):
        rows = sorted(tuple(r.tolist()) for shard in shards for r in shard[index][0][0]
                      if (shard[index][0][1] != IGNORE).any())
        assert rows == sorted(tuple(r.tolist()) for r in episode[0][0])
    last = [shard[-1][0] for shard in shards]  # a batch of 2 songs: one each
    assert [len(x) for x, _ in last] == [1, 1]


def test_a_process_with_no_rows_gets_a_padding_row_that_scores_nothing():
    from melodyrnn.training.distributed import Group
    from melodyrnn.training.episodes import IGNORE, StreamBatching, stream_episodes

    (episode,) = stream_episodes([[1, 2, 3]], StreamBatching(batch_size=4, bptt=8))
    (x, y), = Group(1, 2).shard([episode])[0]
    assert x.shape[0] == 1 and (y == IGNORE).all()
