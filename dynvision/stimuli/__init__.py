"""Stimuli: image sources and temporal generators with explicit timing in ms.

The role of this package is to build stimulus DataArrays in the one schema models and
analyses share (:mod:`~dynvision.stimuli.schema`): dims ``(sample, time, channel, y, x)``,
float32 luminance in [0, 1] on a grey background of 0.5, ``time`` in ms, conditions as
coordinates along ``sample`` and the generator's config in ``attrs``.

- :mod:`~dynvision.stimuli.sources` / :mod:`~dynvision.stimuli.patterns`: offline images
  (scikit-image photographs, scikit-learn digits, gratings, flashes, noise, user arrays) by
  name through :func:`make_images`.
- :mod:`~dynvision.stimuli.temporal`: grey, single and repeated presentations and the
  condition-grid builder :func:`build_stimulus`, by name through :func:`make_stimulus`.
- :mod:`~dynvision.stimuli.sequences`: run-time frame sequences (moving digits, random walks
  of blocks) and their sample-and-hold resampling to ``dt``.
- :mod:`~dynvision.stimuli.cache`: generated stimuli cached on disk, keyed by their config.

Example:
    >>> from dynvision.stimuli import make_images, presentation
    >>> stim = presentation(make_images("digits", n=2, size=8), dt=2, t_pre=10, t_stim=20,
    ...                     t_post=10, contrast=[0.25, 1.0])
    >>> stim.dims, stim.sizes["sample"], float(stim.stim_onset[0])
    (('sample', 'time', 'channel', 'y', 'x'), 4, 10.0)
"""

from dynvision.stimuli.cache import cache_key, cached
from dynvision.stimuli.patterns import flashes, gratings, noise_images
from dynvision.stimuli.schema import BACKGROUND, DIMS, stimulus_array, to_steps, validate_stimulus
from dynvision.stimuli.sequences import (
    SEQUENCES,
    frame_indices,
    make_sequences,
    moving_digits,
    random_walk_of_blocks,
    sequence_stimulus,
)
from dynvision.stimuli.sources import (
    NATURAL_IMAGES,
    SOURCES,
    digit_images,
    from_array,
    list_sources,
    make_images,
    natural_images,
)
from dynvision.stimuli.temporal import (
    STIMULI,
    build_stimulus,
    grey,
    list_stimuli,
    make_stimulus,
    presentation,
    repetition,
)

__all__ = [
    "BACKGROUND",
    "DIMS",
    "NATURAL_IMAGES",
    "SEQUENCES",
    "SOURCES",
    "STIMULI",
    "build_stimulus",
    "cache_key",
    "cached",
    "digit_images",
    "flashes",
    "frame_indices",
    "from_array",
    "gratings",
    "grey",
    "list_sources",
    "list_stimuli",
    "make_images",
    "make_sequences",
    "make_stimulus",
    "moving_digits",
    "natural_images",
    "noise_images",
    "presentation",
    "random_walk_of_blocks",
    "repetition",
    "sequence_stimulus",
    "stimulus_array",
    "to_steps",
    "validate_stimulus",
]
