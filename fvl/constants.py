"""Constants shared by the model, the data pipeline and evaluation."""

# Placeholder that marks where an image goes, both in LLaVA-format text and in the LLM tokenizer
# (registered there as one special token; expanded to `FlorenceVL.num_image_tokens` copies).
IMAGE_TOKEN = "<image>"

# Label value that the loss ignores (PyTorch's cross-entropy default).
IGNORE_INDEX = -100

# Florence-2 / ImageNet normalisation statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
