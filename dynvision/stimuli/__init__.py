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
- :mod:`~dynvision.stimuli.sequences`: frame sequences (moving digits, random walks of blocks
  generated at run time; Moving-MNIST files with :func:`load_moving_mnist`).
- :mod:`~dynvision.stimuli.resample`: the one sample-and-hold resampler (frames at a rate in
  Hz, or any time axis, to steps of ``dt_ms``) and :func:`sequence_stimulus`.
- :mod:`~dynvision.stimuli.dataset`: :class:`SequenceDataset`, a ``torch`` Dataset over any
  frames or generator with a per-sequence parameter table, seeded augmentation
  (:mod:`~dynvision.stimuli.augment`) and resampling, for :class:`~dynvision.Simulation`
  and for training.
- :mod:`~dynvision.stimuli.hex`: a hexagonal receptor lattice (:class:`HexLattice`),
  :func:`render_hex` and the way back, :func:`hex_to_image`.
- :mod:`~dynvision.stimuli.cache`: generated and rendered stimuli cached on disk, keyed by a
  content hash of generator, renderer and parameters.

Example:
    >>> from dynvision.stimuli import make_images, presentation
    >>> stim = presentation(make_images("digits", n=2, size=8), dt=2, t_pre=10, t_stim=20,
    ...                     t_post=10, contrast=[0.25, 1.0])
    >>> stim.dims, stim.sizes["sample"], float(stim.stim_onset[0])
    (('sample', 'time', 'channel', 'y', 'x'), 4, 10.0)
"""

from dynvision.stimuli.augment import AUGMENTATIONS, Flip, Jitter, Noise, Rotate
from dynvision.stimuli.cache import StimulusCache, cache_key, cached
from dynvision.stimuli.dataset import SequenceDataset
from dynvision.stimuli.hex import (
    HexLattice,
    HexRenderer,
    hex_to_image,
    hex_to_pixel,
    pixel_to_hex,
    render_hex,
)
from dynvision.stimuli.patterns import flashes, gratings, noise_images
from dynvision.stimuli.resample import frame_indices, hold_indices, hold_resample, sequence_stimulus
from dynvision.stimuli.schema import BACKGROUND, DIMS, stimulus_array, to_steps, validate_stimulus
from dynvision.stimuli.sequences import (
    SEQUENCES,
    load_moving_mnist,
    make_sequences,
    moving_digits,
    random_walk_of_blocks,
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
    "AUGMENTATIONS",
    "BACKGROUND",
    "DIMS",
    "Flip",
    "HexLattice",
    "HexRenderer",
    "Jitter",
    "Noise",
    "Rotate",
    "SequenceDataset",
    "StimulusCache",
    "hex_to_image",
    "hex_to_pixel",
    "hold_indices",
    "hold_resample",
    "load_moving_mnist",
    "pixel_to_hex",
    "render_hex",
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
