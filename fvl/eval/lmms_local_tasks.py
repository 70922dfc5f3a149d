"""lmms-eval tasks that read the local benchmark copies ``evaluate.py`` reads: ``python -m fvl.eval.lmms_local_tasks``.

lmms-eval's built-in tasks download their datasets from the hub. Offline (a cluster without internet, CI), each
``<name>`` copy under a benchmark root (``$DATA/lmms-lab/pope``, the layout ``evaluate.py benchmark_root=`` reads)
becomes a task ``<task>_local`` that includes the installed task's YAML — so prompts, generation settings,
parsing and aggregation stay lmms-eval's own — and only points its dataset at the copy:

    python -m fvl.eval.lmms_local_tasks $DATA/lmms-lab lmms_tasks
    python -m lmms_eval --model fvl --model_args pretrained=<model> --tasks pope_local --include_path lmms_tasks

A task with a dataset config (DocVQA's ``DocVQA``, ScienceQA's ``ScienceQA-IMG``) reads the copy's folder of that
name. A task whose utilities fetch more from the hub while scoring (GQA's images) still needs the hub.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

# fvl benchmark → (lmms-eval task, its YAML under lmms_eval/tasks, the dataset config it names or None)
TASKS: dict[str, tuple[str, str, str | None]] = {
    "vqav2": ("vqav2_val", "vqav2/vqav2_val.yaml", None),
    "textvqa": ("textvqa_val", "textvqa/textvqa_val.yaml", None),
    "vizwiz": ("vizwiz_vqa_val", "vizwiz_vqa/vizwiz_vqa_val.yaml", None),
    "gqa": ("gqa", "gqa/gqa.yaml", "testdev_balanced_instructions"),
    "docvqa": ("docvqa_val", "docvqa/docvqa_val.yaml", "DocVQA"),
    "infovqa": ("infovqa_val", "infovqa/infovqa_val.yaml", "InfographicVQA"),
    "chartqa": ("chartqa", "chartqa/chartqa.yaml", None),
    "ocrbench": ("ocrbench", "ocrbench/ocrbench.yaml", None),
    "pope": ("pope", "pope/pope.yaml", None),
    "mme": ("mme", "mme/mme.yaml", None),
    "mmbench": ("mmbench_en_dev", "mmbench/mmbench_en_dev.yaml", "en"),
    "seedbench": ("seedbench", "seedbench/seedbench.yaml", None),
    "mmstar": ("mmstar", "mmstar/mmstar.yaml", None),
    "scienceqa_img": ("scienceqa_img", "scienceqa/scienceqa_img.yaml", "ScienceQA-IMG"),
    "ai2d": ("ai2d", "ai2d/ai2d.yaml", None),
    "realworldqa": ("realworldqa", "realworldqa/realworldqa.yaml", None),
    "cvbench": ("cv_bench", "cv_bench/cv_bench.yaml", None),
    "mmvp": ("mmvp", "mmvp/mmvp.yaml", None),
    "mmmu": ("mmmu_val", "mmmu/mmmu_val.yaml", None),
}


def installed_tasks() -> Path:
    """The ``tasks`` folder of the installed lmms-eval; an ImportError naming the install command without it."""
    try:
        import lmms_eval
    except ImportError as error:
        raise ImportError(
            "lmms-eval is not installed: pip install -e '.[lmms]' && pip install --no-deps lmms-eval==0.7.3"
        ) from error
    return Path(lmms_eval.__file__).parent / "tasks"


def local_task_yaml(name: str, copy: Path, tasks: Path) -> str:
    """The YAML of the local task of fvl benchmark ``name`` reading ``copy``."""
    task, yaml_file, config = TASKS[name]
    lines = [f"include: {tasks / yaml_file}", f"task: {task}_local", f"dataset_path: {copy.resolve()}"]
    if config is not None and (copy / config).is_dir():
        lines += ["dataset_name: null", f"dataset_kwargs: {{data_dir: {config}}}"]
    else:
        lines.append("dataset_kwargs: {}")
    return "\n".join(lines) + "\n"


def write_local_tasks(benchmark_root: str | Path, out_dir: str | Path, names: list[str] | None = None) -> list[str]:
    """Write ``<task>_local.yaml`` into ``out_dir`` for each benchmark copy found; returns the task names.

    ``names`` (default: every benchmark lmms-eval has) must each have a copy under ``benchmark_root``."""
    root, out = Path(benchmark_root), Path(out_dir)
    unknown = sorted(set(names or ()) - set(TASKS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], TASKS, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"no lmms-eval task for {unknown}{guess}; fvl benchmark names: {sorted(TASKS)}")
    missing = [name for name in names or () if not (root / name).is_dir()]
    if missing:
        raise FileNotFoundError(f"no local copy of {missing} under {root} (expected {root / missing[0]}/)")
    tasks = installed_tasks()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or [name for name in TASKS if (root / name).is_dir()]:
        task = TASKS[name][0]
        (out / f"{task}_local.yaml").write_text(local_task_yaml(name, root / name, tasks))
        written.append(f"{task}_local")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark_root", help="folder of local benchmark copies, one folder per fvl benchmark name")
    parser.add_argument("out_dir", help="where the task YAMLs go (pass it to lmms-eval as --include_path)")
    parser.add_argument("names", nargs="*", help="fvl benchmark names (default: every copy found)")
    args = parser.parse_args(argv)
    try:
        written = write_local_tasks(args.benchmark_root, args.out_dir, args.names or None)
    except (ValueError, FileNotFoundError, ImportError) as error:
        parser.exit(2, f"error: {error}\n")
    if not written:
        parser.exit(2, f"error: no benchmark copies under {args.benchmark_root} (folders named {sorted(TASKS)})\n")
    print(f"wrote {len(written)} tasks to {args.out_dir}: {', '.join(written)}")
    print(
        f"run: python -m lmms_eval --model fvl --model_args pretrained=<model> --tasks {written[0]} "
        f"--include_path {args.out_dir} --batch_size 16"
    )


if __name__ == "__main__":
    main()
