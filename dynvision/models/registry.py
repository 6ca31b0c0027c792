"""The model registry: ``register_model``, ``create_model``, ``list_models``."""

from __future__ import annotations

from dynvision.registry import Registry

MODELS = Registry("model")


def register_model(name: str):
    """Class decorator: make a model available to :func:`create_model` under ``name``."""

    def add(cls):
        cls.registry_name = name
        config_class = getattr(cls, "config_class", None)
        if config_class is not None and hasattr(config_class, "named"):
            cls.config_class = config_class.named(name)  # its configuration says which model it builds
        return MODELS.register(name, cls)

    return add


def list_models() -> list[str]:
    """Names of all registered models."""
    return MODELS.list()


def create_model(name: str, pretrained: str | None = None, preset: str | None = None, **kwargs):
    """Build a model by name, or load a trained one.

    Args:
        name: A name from :func:`list_models`; or anything
            :func:`~dynvision.models.sources.load_model` accepts: a pretrained name, a
            training checkpoint (``.ckpt``), a training run folder or a pretrained folder.
        pretrained: A pretrained name, checkpoint or folder holding a ``name`` model to load;
            its configuration is used and ``kwargs`` may only change what keeps the weights'
            shapes (the dynamics).
        preset: Name of a preset of settings (see ``dynvision.models.presets``), applied
            before ``kwargs``.
        **kwargs: Constructor arguments of the model.

    Raises:
        UnknownNameError: Unknown model name or keyword argument (the valid ones are listed).

    Example:
        >>> create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16)).n_classes
        3
        >>> create_model("results/train/checkpoints/best.ckpt")  # doctest: +SKIP
    """
    if preset is not None:
        from dynvision.models.presets import preset_settings
        from dynvision.models.sources import describe_model

        cls = MODELS.get(name) if name in MODELS else MODELS.get(describe_model(name).model)
        settings = preset_settings(preset, cls)
        given = {cls.config_class.canonical(k) for k in kwargs}
        kwargs = {**{k: v for k, v in settings.items() if k not in given}, **kwargs}
    if pretrained is not None or name not in MODELS:
        from dynvision.models.sources import load_model

        if pretrained is not None:
            return load_model(pretrained, expected_model=name, **kwargs)
        return load_model(name, **kwargs)
    cls = MODELS.get(name)
    return cls(**kwargs)
