"""``fvl alignment`` / ``python -m fvl.analysis.alignment``: the alignment study, caption loss per feature subset.

Florence-VL's alignment analysis trains only the connector between a frozen Florence-2 and a frozen LLM on
captions, once per set of encoder features, and compares the caption losses: depth and breadth together align
better than any single feature. Here each subset (``depth``, each breadth prompt alone, ``all``; or ``--subsets``)
is one ordinary training run of ``fvl/conf/train.yaml`` (:func:`fvl.training.run.train`, in this process) with
``stage=finetune stage.frozen=[vision,llm]`` (fusion + projector train; Florence-2 and the LLM frozen, in eval
mode), ``model.fusion.features=<subset>``, caption data (``data=synthetic_captions`` unless overridden), the same
seed and data order. Only the connector's input width differs between subsets (the fused channel count).

    fvl alignment                                    # the CPU demo (a few minutes)
    fvl alignment --subsets depth,ocr,depth+ocr,all --steps 400
    fvl alignment --vision-from outputs/demo/runs/<time>/pre_stage/pre_stage/model \\
        --llm-from outputs/demo/runs/<time>/pre_stage/model        # a finished demo's caption stages
    fvl alignment model/vision=florence2_large_ft model/llm=phi35_mini trainer=gpu data=llava_pretrain \\
        data.val=[{path: my_heldout_captions.json}]

Output (``--out``, default ``outputs/alignment/runs/<time>``): ``alignment.md``, ``alignment.csv`` and
``alignment.png`` (:mod:`fvl.analysis.alignment_report`), and one run dir per subset (its CSV log, metrics.json,
``connector.json`` from :mod:`fvl.analysis.alignment_probe`). The ranking uses the final held-out caption loss:
the data's ``data.val``, or for the synthetic captions a generated held-out set (another seed); without one, the
mean training loss of the last ``--last-k`` steps.

Where Florence-2 and the LLM come from: ``--init-from`` (both), ``--vision-from`` / ``--llm-from`` (one each), an
exported model dir or a run dir. Otherwise the config's weights — except for the demo's tiny random LLM, which a
frozen connector cannot teach to caption: then the study first trains the demo's two caption stages
(``python train.py``'s pre-stages: Florence-2 on its own captioning objective, then caption pretraining) into
``<out>/reference`` and starts every subset from Florence-2 of the first and the LLM of the second (reused when
``<out>/reference`` already holds them; ``pre_stage.*`` overrides shape them; ``--no-reference`` skips this).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from fvl.analysis.alignment_protocol import (
    ALL,
    DEFAULT_STEPS,
    HELDOUT_CAPTIONS,
    LAST_K,
    PROTOCOL_KEYS,
    REFERENCE_DIR,
    Start,
    Subset,
    override_key,
)
from fvl.usage import UsageError


def parse_subsets(text: str | None, names: Sequence[str]) -> list[Subset]:
    """``depth,ocr,depth+ocr,all`` → subsets; the default is depth, each breadth feature alone, and all."""
    items = text.split(",") if text else [*names, ALL]
    subsets = []
    for item in (item.strip() for item in items if item.strip()):
        features = tuple(names) if item == ALL else tuple(part.strip() for part in item.split("+"))
        unknown = [feature for feature in features if feature not in names]
        if unknown or len(set(features)) != len(features):
            raise UsageError(
                f"--subsets: {item!r} is not a set of features. Join distinct names of {list(names)} with '+', "
                f"separate subsets with ',' (e.g. --subsets depth,ocr,depth+ocr,{ALL})."
            )
        subsets.append(Subset(item, features))
    if len({subset.features for subset in subsets}) != len(subsets):
        raise UsageError(f"--subsets {text!r} names the same subset twice.")
    return subsets


def model_dir(path: str, option: str) -> Path:
    """The exported model at ``path`` (a model dir, or a run dir with one in ``model/``)."""
    for candidate in (Path(path), Path(path) / "model"):
        if (candidate / "florence").is_dir() and (candidate / "llm").is_dir():
            return candidate
    raise UsageError(
        f"{option} {path}: not an exported model (no florence/ and llm/ in it or in its model/). Give a run's "
        "model/ dir (written at the end of training with export_model=true), e.g. outputs/demo/runs/<time>/"
        "pre_stage/model for the demo's caption-pretrained model."
    )


def study_owns(key: str) -> bool:
    """Whether the study sets ``key`` itself (``pre_stage.*`` shapes the reference run, so it is the user's)."""
    return not key.startswith("pre_stage.") and any(key == k or key.startswith(k + ".") for k in PROTOCOL_KEYS)


def check_overrides(overrides: Sequence[str]) -> None:
    for override in overrides:
        if "=" not in override:
            raise UsageError(f"{override!r} is neither an option nor a Hydra override (key=value); see --help.")
        if study_owns(override_key(override)):
            raise UsageError(
                f"{override}: the study sets {override_key(override)} itself (a connector-only stage, one feature "
                "subset per run, --init-from, --out). Choose the features with --subsets."
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fvl alignment",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog="Any other argument is a train.py (Hydra) override, e.g. model/llm=phi35_mini data.batch_size=32.",
    )
    parser.add_argument(
        "--subsets", help=f"comma-separated, features joined by '+', '{ALL}' (default: each alone, all)"
    )
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help=f"optimizer steps per subset ({DEFAULT_STEPS})"
    )
    parser.add_argument("--out", help="output dir (default outputs/alignment/runs/<time>)")
    parser.add_argument("--init-from", help="Florence-2 and LLM weights from this exported model or run dir")
    parser.add_argument("--vision-from", help="Florence-2 weights from this exported model or run dir")
    parser.add_argument("--llm-from", help="LLM weights from this exported model or run dir")
    parser.add_argument("--no-reference", action="store_true", help="never train the demo's caption stages first")
    parser.add_argument("--heldout", type=int, default=HELDOUT_CAPTIONS, help="generated held-out synthetic captions")
    parser.add_argument("--last-k", type=int, default=LAST_K, help=f"train-loss steps averaged ({LAST_K})")
    parser.add_argument("overrides", nargs="*", help="train.py overrides")
    args = parser.parse_intermixed_args(argv)
    if args.steps < 1 or args.heldout < 1 or args.last_k < 1:
        raise UsageError("--steps, --heldout and --last-k must be positive whole numbers.")
    check_overrides(args.overrides)
    return args


def given_start(args: argparse.Namespace) -> Start | None:
    """The start the options name (checked before anything loads), or None."""
    vision_option = "--vision-from" if args.vision_from else "--init-from"
    llm_option = "--llm-from" if args.llm_from else "--init-from"
    vision, llm = args.vision_from or args.init_from, args.llm_from or args.init_from
    if not (vision or llm):
        return None
    vision_dir = model_dir(vision, vision_option) if vision else None
    llm_dir = model_dir(llm, llm_option) if llm else None
    note = f"Florence-2 from {vision_dir or 'the config'}, the LLM from {llm_dir or 'the config'}"
    return Start(vision_dir, llm_dir, note)


def run_study(args: argparse.Namespace, start: Start | None) -> int:
    from fvl.analysis.alignment_runs import Study  # torch, Lightning and Hydra load from here on

    study = Study(args.overrides, args.steps, args.heldout, args.last_k)
    subsets = parse_subsets(args.subsets, study.feature_names)
    out = Path(args.out) if args.out else study.default_out(datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
    reference = start is None and study.random_llm and not args.no_reference
    plan = study.plan(subsets, out, start, reference)
    print("\n".join(plan), flush=True)
    if reference:
        start = study.reference_start(out / REFERENCE_DIR)
    results = []
    for subset in subsets:
        results.append(study.run_subset(subset, out / subset.name, start or Start()))
        loss = results[-1].loss
        print(f"[alignment] {subset.name}: caption loss {'—' if loss is None else f'{loss:.4f}'}", flush=True)
    for path in study.report(results, out, plan):
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        start = given_start(args)
    except UsageError as error:  # before anything heavy loads
        print(f"fvl alignment: {error}", file=sys.stderr)
        return 2
    from hydra.errors import HydraException

    from fvl.usage import ConfigError

    try:
        return run_study(args, start)
    except UsageError as error:
        print(f"fvl alignment: {error}", file=sys.stderr)
        return 2
    except HydraException as error:
        print(f"fvl alignment: bad override: {error}", file=sys.stderr)
        return 2
    except (ConfigError, FileNotFoundError) as error:  # the message names the key or path and the fix
        print(f"fvl alignment: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
