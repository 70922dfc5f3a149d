"""Parameter groups (one lr per part, no weight decay on norms and biases) and the warmup-cosine schedule."""

import copy
import math

import pytest
import torch

from fvl.training.optim import (
    build_adamw,
    build_cosine_schedule,
    fused_kernel_applies,
    parameter_groups,
    warmup_steps,
)


def test_groups_per_part_with_lr_and_no_decay_for_norms_and_biases(tiny):
    model = tiny.module("pretrain").model
    groups = {g["name"]: g for g in parameter_groups(model, tiny.optim["lr"], weight_decay=0.1)}
    assert sorted(groups) == sorted(
        ["vision", "vision_no_decay", "projector", "projector_no_decay", "llm", "llm_no_decay"]
    )
    for name, group in groups.items():
        part = name.removesuffix("_no_decay")
        assert group["lr"] == tiny.optim["lr"][part]
        assert group["weight_decay"] == (0.0 if name.endswith("_no_decay") else 0.1)
        assert all((p.ndim < 2) == name.endswith("_no_decay") for p in group["params"])
    grouped = sum(p.numel() for g in groups.values() for p in g["params"])
    assert grouped == sum(p.numel() for p in model.parameters())
    norm_weight = model.llm.model.norm.weight
    assert any(p is norm_weight for p in groups["llm_no_decay"]["params"])


def test_frozen_parts_get_no_group_and_missing_lr_is_named(tiny):
    model = tiny.module("finetune").model
    names = {g["name"] for g in parameter_groups(model, tiny.optim["lr"], 0.0)}
    assert not any(name.startswith("vision") for name in names)
    with pytest.raises(ValueError, match="missing \\['llm'\\]"):
        parameter_groups(model, {"vision": 1.0, "projector": 1.0}, 0.0)


def test_cosine_schedule_warms_up_linearly_then_decays_to_zero():
    optimizer = build_adamw(
        torch.nn.ModuleDict({"llm": torch.nn.Linear(2, 2)}), {"vision": 0, "projector": 0, "llm": 1.0}
    )
    schedule = build_cosine_schedule(optimizer, total_steps=100, warmup_ratio=0.03)
    assert warmup_steps(100, 0.03) == 3
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[:4] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert lrs[50] == pytest.approx(0.5 * (1 + math.cos(math.pi * 47 / 97)))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="finite number of optimizer steps"):
        build_cosine_schedule(optimizer, total_steps=math.inf, warmup_ratio=0.03)


def test_adamw_is_fused_on_the_cpu_and_updates_as_the_loop_does():
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"llm": torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8))})
    twin = copy.deepcopy(model)
    rates = {"vision": 0, "projector": 0, "llm": 1e-2}
    fused = build_adamw(model, rates, weight_decay=0.1)
    loop = torch.optim.AdamW(parameter_groups(twin, rates, 0.1), foreach=False)
    assert fused.defaults["fused"] is True and fused_kernel_applies(fused.param_groups)
    start = model["llm"][0].weight.detach().clone()
    for _ in range(5):
        for module in (model, twin):
            module["llm"](torch.ones(2, 8)).square().sum().backward()
        fused.step(), loop.step(), fused.zero_grad(), loop.zero_grad()
    for param, expected in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(param, expected, rtol=1e-5, atol=1e-6)
    assert (model["llm"][0].weight - start).abs().mean() > 5e-3  # five steps of lr 1e-2 moved the weights


def test_adamw_falls_back_to_the_loop_for_parameters_the_kernel_does_not_take():
    model = torch.nn.ModuleDict({"llm": torch.nn.Linear(2, 2, device="meta")})
    assert not fused_kernel_applies(parameter_groups(model, {"vision": 0, "projector": 0, "llm": 1.0}, 0.0))
    assert build_adamw(model, {"vision": 0, "projector": 0, "llm": 1.0}).defaults["fused"] is None
