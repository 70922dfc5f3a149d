"""Suite-wide test settings: tiny models run fastest single-threaded (measured: README, Measured), and no hub access."""

import os

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
torch.set_num_threads(1)
