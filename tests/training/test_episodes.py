"""Training examples: classic windows and padded per-song streams that never cross songs."""

from __future__ import annotations

import torch

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.training.episodes import (
    IGNORE,
    StreamBatching,
    count_targets,
    stream_episodes,
    window_episodes,
    windows,
)


def songs_of_lengths(*lengths: int) -> list[list[int]]:
    """Distinguishable songs: song s holds tokens 100*s+1, 100*s+2, ..."""
    return [[100 * s + i for i in range(1, n + 1)] for s, n in enumerate(lengths, start=1)]


def test_nabiya_gives_exactly_50_windows_of_4(nabiya):
    ids = NoteCodec.fit([nabiya]).encode(nabiya)
    inputs, targets = windows(ids, 4)
    assert inputs.shape == (50, 4) and targets.shape == (50,)
    for i in range(50):
        assert inputs[i].tolist() == ids[i : i + 4]
        assert targets[i] == ids[i + 4]


def test_song_no_longer_than_the_window_gives_no_windows():
    for length in (0, 3, 4):
        inputs, targets = windows(list(range(length)), 4)
        assert inputs.shape == (0, 4) and targets.shape == (0,)
    assert windows(list(range(5)), 4)[1].tolist() == [4]


def test_window_episodes_are_one_per_song_in_order():
    songs = songs_of_lengths(7, 3, 6)  # the 3-token song has no window of 4 and is skipped
    episodes = window_episodes(songs, 4)
    assert len(episodes) == 2
    assert [len(e) for e in episodes] == [3, 2]
    assert episodes[0][0][0].tolist() == [[101, 102, 103, 104]]
    assert episodes[1][0][0].tolist() == [[301, 302, 303, 304]]


def test_window_chunks_are_batch_one_and_scored_on_the_last_position_only():
    (song,) = songs_of_lengths(8)
    (episode,) = window_episodes([song], 4)
    for start, (inputs, targets) in enumerate(episode):
        assert inputs.shape == targets.shape == (1, 4)
        assert inputs[0].tolist() == song[start : start + 4]
        assert targets[0, :3].tolist() == [IGNORE] * 3
        assert targets[0, 3] == song[start + 4]


def test_window_episodes_of_nabiya_score_50_targets(nabiya):
    ids = NoteCodec.fit([nabiya]).encode(nabiya)
    assert count_targets(window_episodes([ids], 4)) == 50


def test_stream_rows_are_whole_songs_shifted_by_one_and_padded():
    songs = songs_of_lengths(5, 3)
    (episode,) = stream_episodes(songs, StreamBatching(batch_size=2, bptt=64))
    ((inputs, targets),) = episode
    assert inputs.shape == targets.shape == (2, 4)
    by_first = {int(inputs[i, 0]): i for i in range(2)}
    long_row, short_row = by_first[101], by_first[201]
    assert inputs[long_row].tolist() == [101, 102, 103, 104]
    assert targets[long_row].tolist() == [102, 103, 104, 105]
    assert inputs[short_row, :2].tolist() == [201, 202]
    assert targets[short_row].tolist() == [202, 203, IGNORE, IGNORE]


def test_stream_chunks_cut_every_bptt_tokens_and_join_back():
    songs = songs_of_lengths(11)
    (episode,) = stream_episodes(songs, StreamBatching(batch_size=4, bptt=3))
    assert [x.shape[1] for x, _ in episode] == [3, 3, 3, 1]
    inputs = torch.cat([x for x, _ in episode], dim=1)
    targets = torch.cat([y for _, y in episode], dim=1)
    assert inputs[0].tolist() == songs[0][:-1]
    assert targets[0].tolist() == songs[0][1:]


def test_streams_never_cross_songs():
    songs = songs_of_lengths(9, 4, 12, 7, 2, 5)
    episodes = stream_episodes(songs, StreamBatching(batch_size=2, bptt=4),
                               torch.Generator().manual_seed(1))
    for episode in episodes:
        inputs = torch.cat([x for x, _ in episode], dim=1)
        targets = torch.cat([y for _, y in episode], dim=1)
        for x, y in zip(inputs, targets):
            scored = y != IGNORE
            song = int(x[0]) // 100
            assert all(int(t) // 100 == song for t in y[scored])
            assert all(int(t) // 100 == song for t in x[scored])
            assert (y[scored] == x[scored] + 1).all()  # the next token of the same song


def test_stream_batches_hold_every_usable_song_once_grouped_by_length():
    songs = songs_of_lengths(9, 4, 12, 7, 1, 5, 3)  # the 1-token song has nothing to predict
    episodes = stream_episodes(songs, StreamBatching(batch_size=2, bptt=64))
    groups = [sorted(int(row[0]) // 100 for row in episode[0][0]) for episode in episodes]
    assert sorted(s for g in groups for s in g) == [1, 2, 3, 4, 6, 7]
    assert all(len(g) <= 2 for g in groups)
    # Without shuffling, neighbours by length share a batch: 3,4,5 | 7,9 | 12 tokens.
    lengths = [sorted(len(songs[s - 1]) for s in g) for g in groups]
    assert lengths == [[3, 4], [5, 7], [9, 12]]
    assert count_targets(episodes) == sum(len(s) - 1 for s in songs)


def test_stream_shuffling_is_reproducible_with_a_seeded_generator():
    songs = songs_of_lengths(*range(2, 30))

    def firsts(seed: int) -> list[list[int]]:
        episodes = stream_episodes(songs, StreamBatching(batch_size=3, bptt=8),
                                   torch.Generator().manual_seed(seed))
        return [episode[0][0][:, 0].tolist() for episode in episodes]

    assert firsts(7) == firsts(7)
    assert firsts(7) != firsts(8)
    assert sorted(t for batch in firsts(7) for t in batch) == sorted(s[0] for s in songs)
