import numpy as np
import pytest

from dynvision.data.splits import SPLITS, split_indices
from dynvision.registry import UnknownNameError

LABELS = np.repeat(np.arange(4), [10, 23, 7, 40])


def parts(labels, seed=0, **kw):
    return {s: split_indices(labels, s, seed=seed, **kw) for s in ("train", "val", "test")}


@pytest.mark.parametrize("stratify", [True, False])
def test_splits_are_disjoint_and_cover_everything(stratify):
    p = parts(LABELS, stratify=stratify)
    together = np.concatenate(list(p.values()))
    assert len(np.unique(together)) == len(together) == len(LABELS)
    assert np.array_equal(np.sort(together), split_indices(LABELS, "all"))


def test_stratified_split_keeps_class_proportions():
    fractions = (0.6, 0.2, 0.2)
    p = parts(LABELS, fractions=fractions)
    per_class = np.bincount(LABELS)
    for share, idx in zip(fractions, p.values()):
        counts = np.bincount(LABELS[idx], minlength=len(per_class))
        assert np.all(np.abs(counts - share * per_class) < 1)


def test_split_sizes_follow_fractions_without_stratification():
    p = parts(np.zeros(100, int), fractions=(0.5, 0.3, 0.2), stratify=False)
    assert [len(v) for v in p.values()] == [50, 30, 20]


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = (split_indices(LABELS, "train", seed=s) for s in (3, 3, 4))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.diff(a) > 0)  # sorted, no duplicates


def test_unknown_split_lists_valid_splits():
    with pytest.raises(UnknownNameError) as err:
        split_indices(LABELS, "training")
    msg = str(err.value)
    assert "'training'" in msg and all(repr(s) in msg for s in SPLITS)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.7, 0.2, 0.2), (1.2, -0.1, -0.1)])
def test_bad_fractions_raise(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_indices(LABELS, "train", fractions=fractions)
