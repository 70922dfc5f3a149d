"""fvl feature-maps: the model's own features as PCA maps per prompt, and the adaptive fusion's weights per token."""

import numpy as np
import pytest
import torch
from picture_checks import assert_png
from PIL import Image

from fvl.analysis.feature_maps import extract, feature_maps, main, write_feature_maps
from fvl.analysis.pca_maps import pca_rgb
from fvl.data.images import ImageProcessor, ImageSettings
from fvl.models.builder import build_florence_vl

COLOURS = [(220, 30, 30), (30, 200, 30), (30, 30, 220)]


def adaptive_model():
    """A tiny random FlorenceVL (64 px: a 2×2 grid and the global token) with an adaptive fusion whose gate is not
    zero, so that its weights differ by token and feature."""
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, {"name": "adaptive"})
    with torch.no_grad():
        model.fusion.gate.weight.normal_(std=0.5)
    return model.eval()


def images():
    """Squares of three colours, each in another corner, on white."""
    made = []
    for index, colour in enumerate(COLOURS):
        image = Image.new("RGB", (64, 64), (255, 255, 255))
        corner = (index % 2 * 32, index // 2 * 32)
        image.paste(colour, (*corner, corner[0] + 32, corner[1] + 32))
        made.append(image)
    return made


@pytest.fixture(scope="module")
def model():
    return adaptive_model()


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for index, image in enumerate(images()):
        image.save(folder / f"{index}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_features_are_the_encoders_over_the_grid_without_the_global_token(model):
    pixels = torch.randn(3, 3, 64, 64)
    grids, weights = extract(model, pixels)
    with torch.no_grad():
        features = model.vision(pixels)
        expected_weights = model.fusion.weights(features)
    assert list(grids) == ["depth", "caption", "ocr", "grounding"]
    for name, grid in grids.items():
        assert grid.shape == (3, 2, 2, 64)
        np.testing.assert_allclose(grid.reshape(3, 4, 64), features[name][:, 1:].numpy(), rtol=1e-6)
    assert weights.shape == (3, 2, 2, 4)
    np.testing.assert_allclose(weights.reshape(3, 4, 4), expected_weights[:, 1:].numpy(), rtol=1e-6)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    assert weights.std() > 0.01  # not the uniform weights of an untrained gate


def test_maps_are_one_joint_fit_per_feature_over_the_images(model):
    result = feature_maps(model, images(), ["a", "b", "c"])
    assert list(result.maps) == ["depth", "caption", "ocr", "grounding"]
    pixels = result.images
    assert pixels.shape == (3, 64, 64, 3) and pixels.min() >= 0 and pixels.max() <= 1
    np.testing.assert_allclose(pixels[0, 0, 0], np.array(COLOURS[0]) / 255, atol=1e-6)  # the image as given back
    assert all(pca.rgb.shape == (3, 2, 2, 3) for pca in result.maps.values())
    # The same as fitting the features of the three images together by hand.
    processor = ImageProcessor(ImageSettings(64, "square", model.image_mean, model.image_std))
    grids, _ = extract(model, torch.stack([processor(image) for image in images()]))
    np.testing.assert_allclose(result.maps["ocr"].rgb, pca_rgb(grids["ocr"]).rgb)
    assert result.fusion_features == ("depth", "caption", "ocr", "grounding")


def test_a_finer_grid_at_another_image_size(model):
    result = feature_maps(model, images()[:1], ["a"], image_size=128)
    assert result.maps["depth"].rgb.shape == (1, 4, 4, 3) and result.fusion_weights.shape == (1, 4, 4, 4)


def test_pictures_and_arrays_are_written(model, tmp_path):
    result = feature_maps(model, images(), ["a", "b", "c"])
    written = write_feature_maps(result, tmp_path / "out")
    assert [path.name for path in written] == ["feature_maps.png", "fusion_weights.png", "feature_maps.npz"]
    maps_size = assert_png(written[0])
    assert_png(written[1])
    assert maps_size[0] > maps_size[1]  # a column per feature beside the image, a row per image
    with np.load(written[2]) as arrays:
        assert arrays["image_names"].tolist() == ["a", "b", "c"]
        np.testing.assert_allclose(arrays["pca/depth"], result.maps["depth"].rgb, rtol=1e-6)
        assert arrays["fusion_features"].tolist() == ["depth", "caption", "ocr", "grounding"]


def test_other_fusions_get_no_weights_picture(tmp_path):
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}).eval()
    written = write_feature_maps(feature_maps(model, images()[:2], ["a", "b"]), tmp_path)
    assert [path.name for path in written] == ["feature_maps.png", "feature_maps.npz"]


def test_the_command_on_an_exported_model_and_a_folder(model, image_dir, tmp_path, capsys):
    model.save_pretrained(tmp_path / "model")
    out = tmp_path / "maps"
    assert main([str(tmp_path / "model"), str(image_dir), "--out", str(out), "--max-images", "2"]) == 0
    printed = capsys.readouterr()
    assert printed.out.split()[1::2] == [
        str(out / name) for name in ("feature_maps.png", "fusion_weights.png", "feature_maps.npz")
    ]
    assert "using the first 2 of 3 images" in printed.err
    with np.load(out / "feature_maps.npz") as arrays:
        assert arrays["image_names"].tolist() == ["0.png", "1.png"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (lambda tmp, folder: [str(tmp / "nothing"), str(folder)], "does not exist; give an exported model dir"),
        (lambda tmp, folder: [str(tmp), str(tmp / "missing.png")], "missing.png does not exist; give image files"),
        (lambda tmp, folder: [str(tmp), str(tmp / "empty")], "holds no image files"),
        (lambda tmp, folder: [str(tmp), str(folder / "notes.txt")], "give readable image files"),
        (lambda tmp, folder: [str(tmp), str(folder)], "is not a model"),
    ],
)
def test_mistakes_are_refused_with_status_2(tmp_path, image_dir, capsys, arguments, message):
    (tmp_path / "empty").mkdir()
    assert main(arguments(tmp_path, image_dir)) == 2
    assert message in capsys.readouterr().err


def test_a_grid_beyond_the_position_table_is_refused(model, image_dir, tmp_path, capsys):
    model.save_pretrained(tmp_path / "model")
    assert main([str(tmp_path / "model"), str(image_dir), "--image-size", "512", "--out", str(tmp_path / "o")]) == 2
    assert "--image-size 512 is too large for this model's position embeddings" in capsys.readouterr().err


def test_bad_options_are_argparse_errors(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["model", "image.png", "--image-size", "100"])
    assert stopped.value.code == 2 and "not a multiple of 32" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_this_machine_lacks_is_refused(model, image_dir, tmp_path, capsys):
    model.save_pretrained(tmp_path / "model")
    assert main([str(tmp_path / "model"), str(image_dir), "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert "this machine has no CUDA GPU torch can use; use --device cpu" in capsys.readouterr().err
