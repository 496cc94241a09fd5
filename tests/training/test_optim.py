"""Our Adam/AdamW takes the steps torch's takes and reads and writes torch's state dicts."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch

from melodyrnn.training import loop
from melodyrnn.training.config import TrainConfig
from melodyrnn.training.optim import Adam


def small_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Embedding(7, 5), torch.nn.LSTM(5, 6, batch_first=True))


def loss_of(model: torch.nn.Module, step: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(step)
    tokens = torch.randint(0, 7, (3, 8), generator=generator)
    output, _ = model[1](model[0](tokens))
    return (output ** 2).sum() - output[:, :, 0].sum()


def train_steps(model: torch.nn.Module, optimizer, steps: range) -> None:
    for step in steps:
        optimizer.zero_grad()
        loss_of(model, step).backward()
        optimizer.step()


def torch_optimizer(name: str, params, weight_decay: float):
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return kind(params, lr=0.01, weight_decay=weight_decay)


def ours(name: str, params, weight_decay: float) -> Adam:
    return loop.OPTIMIZERS[name](params, TrainConfig(lr=0.01, optimizer=name,
                                                     weight_decay=weight_decay))


def assert_same_parameters(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, x), (_, y) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7, msg=name)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_thirty_steps_give_the_parameters_torch_gives(name, weight_decay):
    theirs, mine = small_model(), small_model()
    train_steps(theirs, torch_optimizer(name, theirs.parameters(), weight_decay), range(30))
    train_steps(mine, ours(name, mine.parameters(), weight_decay), range(30))
    assert_same_parameters(theirs, mine)
    assert not torch.equal(next(mine.parameters()), next(small_model().parameters()))


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_a_state_saved_by_torch_resumes_here_and_ours_resumes_in_torch(name):
    """Old checkpoints hold torch's optimiser state; new ones still load in torch."""
    reference = small_model()
    train_steps(reference, torch_optimizer(name, reference.parameters(), 0.05), range(20))

    halfway = small_model()
    theirs = torch_optimizer(name, halfway.parameters(), 0.05)
    train_steps(halfway, theirs, range(10))
    saved_weights, saved_state = copy.deepcopy(halfway.state_dict()), theirs.state_dict()

    resumed = small_model(seed=1)
    resumed.load_state_dict(saved_weights)
    mine = ours(name, resumed.parameters(), 0.05)
    mine.load_state_dict(copy.deepcopy(saved_state))
    train_steps(resumed, mine, range(10, 15))

    back = small_model(seed=2)
    back.load_state_dict(resumed.state_dict())
    theirs_again = torch_optimizer(name, back.parameters(), 0.05)
    theirs_again.load_state_dict(copy.deepcopy(mine.state_dict()))
    train_steps(back, theirs_again, range(15, 20))
    assert_same_parameters(reference, back)


def test_the_state_dict_has_torchs_layout():
    model = small_model()
    mine = ours("adamw", model.parameters(), 0.01)
    train_steps(model, mine, range(2))
    model_again = small_model()
    theirs = torch_optimizer("adamw", model_again.parameters(), 0.01)
    train_steps(model_again, theirs, range(2))
    a, b = mine.state_dict(), theirs.state_dict()
    assert a["state"].keys() == b["state"].keys()
    assert a["state"][0].keys() == b["state"][0].keys()
    assert a["state"][0]["step"].dtype == b["state"][0]["step"].dtype
    assert a["param_groups"] == b["param_groups"]


def test_a_mismatched_state_is_refused_before_anything_changes():
    mine = ours("adam", small_model().parameters(), 0.0)
    with pytest.raises(ValueError, match="parameter group"):
        mine.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="size"):
        mine.load_state_dict({"state": {}, "param_groups": [{"params": [0]}]})
    assert mine.state == {} and len(mine.param_groups) == 1


def test_the_learning_rate_schedule_drives_our_optimiser():
    config = TrainConfig(epochs=10, lr=0.1, schedule="cosine")
    mine = ours("adam", small_model().parameters(), 0.0)
    rates = []
    for epoch in range(1, 11):
        loop.set_learning_rate(mine, config, epoch)
        rates.append(mine.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(0.1) and rates == sorted(rates, reverse=True)


def test_train_and_generate_never_import_torch_dynamo(tmp_path, nabiya_path):
    """Importing torch._dynamo costs about 2 s: more than training 나비야 takes."""
    model = tmp_path / "m.pt"
    script = (
        "import sys\n"
        "from melodyrnn.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "print('DYNAMO' if 'torch._dynamo' in sys.modules else 'NO DYNAMO')\n")
    for args in (["train", str(nabiya_path), "-o", str(model)],
                 ["generate", "--model", str(model), "--seed", "g8", "e8", "e4", "f8"]):
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == "NO DYNAMO", (args, done.stderr)
