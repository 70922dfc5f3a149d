"""Upload an exported model directory to the Hugging Face Hub: :func:`push_to_hub`.

    python -m fvl.training.export <ckpt> <dir> --push-to-hub <user>/<name> [--revision <branch>] [--private]

The repository is created when missing (a model repository; ``private`` only applies then), the ``revision``
branch too, and the whole directory (weights, configs, tokenizer, the ``README.md`` model card) is uploaded in
one commit with ``huggingface_hub.HfApi.upload_folder``. The token is huggingface_hub's own: ``HF_TOKEN`` or
``hf auth login``. ``api`` replaces the ``HfApi`` (tests pass a recorder; nothing else needs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import HfApi
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from fvl.models.export_files import check_export_files
from fvl.models.model_directory import CONFIG_FILE

LOGIN_FIX = "log in with `hf auth login` (or set HF_TOKEN) using a token with write access to it"


def check_repo_id(repo_id: str) -> None:
    """Raise a ValueError naming the fix when ``repo_id`` is no valid ``<user or org>/<name>``."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        message = f"--push-to-hub {repo_id!r} is not a Hub repository id ({error}); give <user>/<name>."
        raise ValueError(message) from None
    if "/" not in repo_id:
        raise ValueError(f"--push-to-hub {repo_id!r} names no owner; give <user or organisation>/{repo_id}.")


def push_to_hub(
    directory: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    api: Any = None,
) -> str:
    """Upload the exported model ``directory`` to the model repository ``repo_id`` (at branch ``revision``, the
    default branch when None); returns the commit's URL."""
    directory = Path(directory)
    check_repo_id(repo_id)
    if not (directory / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{directory} is not an exported fvl model (no {CONFIG_FILE}); export it first.")
    check_export_files(directory)
    api = api if api is not None else HfApi()
    api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    if revision is not None:
        api.create_branch(repo_id=repo_id, branch=revision, repo_type="model", exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(directory),
        repo_type="model",
        revision=revision,
        commit_message=commit_message or f"Upload the fvl model {directory.name}",
    )
    return str(getattr(commit, "commit_url", commit))
