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
    """Build a registered model by name.

    Args:
        name: A name from :func:`list_models`.
        pretrained: Name of a shipped checkpoint (see ``dynvision.models.pretrained``) to
            load; its configuration is used and ``kwargs`` must agree with it.
        preset: Name of a preset of settings (see ``dynvision.models.presets``), applied
            before ``kwargs``.
        **kwargs: Constructor arguments of the model.

    Raises:
        UnknownNameError: Unknown model name or keyword argument (the valid ones are listed).

    Example:
        >>> create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16)).n_classes
        3
    """
    cls = MODELS.get(name)
    if preset is not None:
        from dynvision.models.presets import preset_settings

        settings = preset_settings(preset, cls)
        given = {cls.config_class.canonical(k) for k in kwargs}
        kwargs = {**{k: v for k, v in settings.items() if k not in given}, **kwargs}
    if pretrained is not None:
        from dynvision.models.pretrained import load_pretrained

        return load_pretrained(pretrained, expected_model=name, **kwargs)
    return cls(**kwargs)
