import numpy as np
import pytest
import torch
from PIL import Image

from dynvision.data import make_dataset
from dynvision.data.folder import find_images, read_image

from .helpers import FOLDER_CLASSES, write_image_folder


def test_classes_are_sorted_and_labels_follow_folders(image_root):
    ds = make_dataset("image_folder", split="all", size=8, channels=3, root=image_root)
    assert ds.classes == sorted(FOLDER_CLASSES) == ["cat", "dog", "zebra"]
    assert len(ds) == 18  # notes.txt and the hidden file are skipped
    for image, label in ds:
        expected = FOLDER_CLASSES[ds.classes[label]] / 255
        torch.testing.assert_close(image, torch.full_like(image, expected), atol=1e-6, rtol=0)


def test_grey_and_split(image_root):
    parts = [
        make_dataset("image_folder", split=s, size=(6, 10), channels=1, root=image_root)
        for s in ("train", "val", "test")
    ]
    assert [len(p) for p in parts] == [12, 3, 3]  # 6 per class: 4 / 1 / 1 each
    for p in parts:
        assert p.image_shape == (1, 6, 10)
        assert np.bincount(p.labels.numpy()).tolist() in ([4, 4, 4], [1, 1, 1])


def test_center_crop_versus_stretch(tmp_path):
    img = np.zeros((20, 40), np.uint8)
    img[:, :5] = img[:, -5:] = 255  # white margins outside the central square
    path = tmp_path / "wide.png"
    Image.fromarray(img).save(path)
    cropped = read_image(path, (8, 8), 1, resize="center_crop")
    stretched = read_image(path, (8, 8), 1, resize="stretch")
    assert cropped.max() == 0
    assert stretched[0, :, 0].min() > 0.9 and stretched[0, :, 4].max() == 0


def test_jpeg_is_read(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (9, 9), (255, 0, 0)).save(tmp_path / "a" / "red.JPG")
    ds = make_dataset("image_folder", split="all", size=4, channels=3, root=tmp_path)
    red = ds.images[0].mean(dim=(1, 2))
    assert red[0] > 0.95 and red[1] < 0.05 and red[2] < 0.05


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make_dataset("image_folder", root=tmp_path / "nowhere")


def test_root_is_a_file(tmp_path):
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="f.png"):
        find_images(tmp_path / "f.png")


def test_folder_without_classes(tmp_path):
    with pytest.raises(ValueError, match="no class sub-folders"):
        make_dataset("image_folder", root=tmp_path)


def test_class_without_images_is_named(tmp_path):
    write_image_folder(tmp_path, n_per_class=1)
    (tmp_path / "empty_class").mkdir()
    (tmp_path / "empty_class" / "readme.md").write_text("no images")
    with pytest.raises(ValueError, match="empty_class"):
        make_dataset("image_folder", root=tmp_path)


def test_unreadable_image_is_named(tmp_path):
    write_image_folder(tmp_path, n_per_class=1)
    (tmp_path / "dog" / "broken.png").write_bytes(b"definitely not a png")
    with pytest.raises(ValueError, match="broken.png"):
        make_dataset("image_folder", split="all", root=tmp_path)


def test_bad_resize_mode(image_root):
    with pytest.raises(ValueError, match="'squash'.*center_crop"):
        make_dataset("image_folder", root=image_root, resize="squash")
