"""Where the demo model's visual tokens carry *what* and *where*: variance shares and linear probes per stage.

Draws single-shape scenes of the synthetic set (known colour, shape and grid cell), runs an exported model's
Florence-2, fusion and projector, and for the token under the shape prints, per feature and for the projected
tokens the LLM reads: the share of the token's energy common to every image, the share of the variance that
colour, shape and the grid cell explain (between-class over total), and ridge-probe accuracies of colour and
shape on a held-out fifth. The README's "Why the tiny model ignored attributes" quotes it:

    python benchmarks/feature_probe.py outputs/demo/runs/<time>/model
    python benchmarks/feature_probe.py outputs/demo/runs/<time>/pre_stage/pre_stage/model   # after stage 0

``--supervise N`` then trains the encoder itself for N steps of 16 fresh scenes with a linear head on the depth
token under the shape (AdamW, lr 1e-3) and prints the held-out shape accuracy every 100 steps: what the same
tower learns when shape is its whole objective.
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch
from torch import nn

from fvl.data.images import ImageProcessor, ImageSettings
from fvl.data.synthetic.scene import CELLS, COLOURS, SHAPES, Scene, Shape, draw_scene
from fvl.models.florence_vl import FlorenceVL


def between_class_share(features: np.ndarray, labels: np.ndarray) -> float:
    centred = features - features.mean(0)
    between = sum((labels == k).sum() * (centred[labels == k].mean(0) ** 2).sum() for k in np.unique(labels))
    return float(between / (centred**2).sum())


def common_share(features: np.ndarray) -> float:
    return float((np.linalg.norm(features.mean(0)) ** 2) / (np.linalg.norm(features, axis=1) ** 2).mean())


def ridge_probe(features: np.ndarray, labels: np.ndarray, ridge: float = 1e-2) -> float:
    """Accuracy on the last fifth of a ridge regression onto one-hot labels fitted on the first four fifths."""
    split = len(features) * 4 // 5
    x = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    y = np.eye(labels.max() + 1)[labels]
    weights = np.linalg.solve(x[:split].T @ x[:split] + ridge * np.eye(x.shape[1]), x[:split].T @ y[:split])
    return float(((x[split:] @ weights).argmax(1) == labels[split:]).mean())


def draw(model: FlorenceVL, count: int, rng: random.Random) -> tuple[list[Shape], torch.Tensor, torch.Tensor]:
    """``count`` single-shape scenes: the shapes, their pixels and the index of the grid token at the centre of
    each shape's cell (the 2×2 cells split the side×side grid evenly)."""
    size = model.image_size
    shapes = [Shape(rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.choice(CELLS)) for _ in range(count)]
    process = ImageProcessor(ImageSettings(size, "square", model.image_mean, model.image_std))
    pixels = torch.stack([process(draw_scene(Scene((shape,)), size, rng)) for shape in shapes])
    side, first = size // 32, int(model.vision.keep_global_token)
    index = torch.tensor([first + (r * side // 2 + side // 4) * side + c * side // 2 + side // 4 for r, c in (
        shape.cell for shape in shapes)])  # fmt: skip
    return shapes, pixels, index


def supervise(model: FlorenceVL, steps: int, test: tuple[list[Shape], torch.Tensor, torch.Tensor]) -> None:
    """Train the vision encoder and a linear head on the depth token under the shape; print held-out accuracy."""
    vision, rng = model.vision.train(), random.Random(2)
    head = nn.Sequential(nn.BatchNorm1d(vision.feature_dim), nn.Linear(vision.feature_dim, len(SHAPES)))
    optimizer = torch.optim.AdamW([*vision.parameters(), *head.parameters()], lr=1e-3, weight_decay=0.0)

    def logits(pixels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return head(vision(pixels)["depth"][torch.arange(len(index)), index])

    labels = torch.tensor([SHAPES.index(shape.kind) for shape in test[0]])
    for step in range(1, steps + 1):
        shapes, pixels, index = draw(model, 16, rng)
        target = torch.tensor([SHAPES.index(shape.kind) for shape in shapes])
        loss = nn.functional.cross_entropy(logits(pixels, index), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps:
            vision.eval(), head.eval()
            with torch.no_grad():
                accuracy = (logits(test[1], test[2]).argmax(1) == labels).float().mean().item()
            vision.train(), head.train()
            print(f"supervised step {step}: shape accuracy {accuracy:.3f} on the held-out scenes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an exported model directory (a run's model/)")
    parser.add_argument("--scenes", type=int, default=600)
    parser.add_argument("--supervise", type=int, default=0, metavar="N", help="then train on shape for N steps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = FlorenceVL.from_pretrained(args.model).eval()
    shapes, pixels, index = draw(model, args.scenes, random.Random(1))
    with torch.no_grad():
        features = model.vision(pixels)
        rows = {name: value[torch.arange(len(shapes)), index].numpy() for name, value in features.items()}
        projected = model.projector(model.fusion(features))
        rows["projected (LLM input)"] = projected[torch.arange(len(shapes)), index].numpy()
    colour = np.array([list(COLOURS).index(shape.colour) for shape in shapes])
    kind = np.array([SHAPES.index(shape.kind) for shape in shapes])
    cell = np.array([CELLS.index(shape.cell) for shape in shapes])
    print(f"{args.model}: {args.scenes} single-shape scenes, {model.image_size} px, the token under the shape")
    header = ["common", "colour", "shape", "cell"]
    print(f"{'feature':24s} " + " ".join(f"{c:>7s}" for c in header) + f" {'probe colour':>13s} {'probe shape':>12s}")
    for name, values in rows.items():
        shares = [100 * between_class_share(values, labels) for labels in (colour, kind, cell)]
        print(
            f"{name:24s} {100 * common_share(values):6.1f}% " + " ".join(f"{share:6.1f}%" for share in shares)
            + f" {ridge_probe(values, colour):13.2f} {ridge_probe(values, kind):12.2f}"
        )  # fmt: skip
    if args.supervise:
        supervise(model, args.supervise, (shapes[-400:], pixels[-400:], index[-400:]))


if __name__ == "__main__":
    main()
