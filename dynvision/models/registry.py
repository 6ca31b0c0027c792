"""The model registry: ``register_model``, ``create_model``, ``list_models``."""

from __future__ import annotations

from dynvision.registry import Registry, check_kwargs

MODELS = Registry("model")


def register_model(name: str):
    """Class decorator: make a model available to :func:`create_model` under ``name``."""

    def add(cls):
        cls.registry_name = name
        return MODELS.register(name, cls)

    return add


def list_models() -> list[str]:
    """Names of all registered models."""
    return MODELS.list()


def create_model(name: str, pretrained: str | None = None, **kwargs):
    """Build a registered model by name.

    Args:
        name: A name from :func:`list_models`.
        pretrained: Name of a shipped checkpoint (see ``dynvision.models.pretrained``) to
            load; its configuration is used and ``kwargs`` must agree with it.
        **kwargs: Constructor arguments of the model.

    Raises:
        UnknownNameError: Unknown model name or keyword argument (the valid ones are listed).

    Example:
        >>> create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16)).n_classes
        3
    """
    if pretrained is not None:
        from dynvision.models.pretrained import load_pretrained

        return load_pretrained(pretrained, expected_model=name, **kwargs)
    cls = MODELS.get(name)
    check_kwargs(f"model {name!r}", kwargs, cls.__init__)
    return cls(**kwargs)
