"""Load the project's YAML configs: Hydra-style defaults lists, then key=value overrides.

The layout is Hydra's (``configs/config.yaml`` with ``defaults: [model: x, data: y, ...]``
and one folder per group), so the same files work with ``hydra.main``; this loader
needs only OmegaConf.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
_SELF = "_self_"


class ConfigError(ValueError):
    """A config file or an override is invalid; the message says which and why."""


def load_config(
    config_name: str = "config",
    overrides: Sequence[str] = (),
    config_dir: Path | str | None = None,
) -> DictConfig:
    """Compose a config from its defaults list and apply command-line overrides.

    Args:
        config_name: Name of the primary config in ``config_dir`` (``config`` or ``debug``).
        overrides: ``key=value`` strings, e.g. ``training.lr=3e-4``; ``+key=value`` adds a
            key that does not exist yet; ``group=option`` (e.g. ``data=debug``), where
            ``group`` is a folder of ``config_dir``, selects that option of the group as
            Hydra does.
        config_dir: Folder holding the configs; the project's ``configs/`` by default.

    Returns:
        The composed config with interpolations resolved, in struct mode (unknown keys
        raise on access).

    Raises:
        ConfigError: If a file is missing, a defaults entry is malformed, or an override
            names an unknown key or group option or has no ``=``.
    """
    root = Path(config_dir) if config_dir is not None else default_config_dir()
    choices, overrides = split_group_choices(root, overrides)
    used: set[str] = set()
    cfg = _compose(root, group=None, name=config_name, chain=(), choices=choices, used=used)
    unused = sorted(set(choices) - used)
    if unused:
        raise ConfigError(
            f"group override(s) {[f'{g}={choices[g]}' for g in unused]}: the defaults list "
            f"of {config_name!r} selects no option of that group"
        )
    cfg = apply_overrides(cfg, overrides)
    try:
        OmegaConf.resolve(cfg)
    except Exception as exc:  # omegaconf raises several unrelated exception types
        raise ConfigError(f"cannot resolve interpolations in {config_name!r}: {exc}") from exc
    OmegaConf.set_struct(cfg, True)
    return cfg


def default_config_dir() -> Path:
    """The project's ``configs/`` folder: next to ``src/``, else in the working directory.

    Returns:
        The folder path (it may not exist when the package is installed elsewhere).
    """
    if CONFIG_DIR.is_dir():
        return CONFIG_DIR
    return Path.cwd() / "configs"


def split_group_choices(root: Path, overrides: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Separate Hydra-style group choices (``data=debug``) from value overrides.

    An override is a group choice when its key has no dot and names a folder of ``root``
    (a config group), as in Hydra.

    Args:
        root: The config folder.
        overrides: The command-line overrides.

    Returns:
        Group -> option, and the remaining overrides in their order.

    Raises:
        ConfigError: If a group choice names an option the group does not have.
    """
    choices: dict[str, str] = {}
    rest: list[str] = []
    for override in overrides:
        key, _, value = override.strip().partition("=")
        key = key.strip()
        if "=" not in override or "." in key or key.startswith("+"):
            rest.append(override)
            continue
        if not (root / key).is_dir():
            rest.append(override)
            continue
        option = value.strip()
        if not (root / key / f"{option}.yaml").is_file():
            options = sorted(path.stem for path in (root / key).glob("*.yaml"))
            raise ConfigError(
                f"override {override!r}: group {key!r} has no option {option!r}; "
                f"available: {options}"
            )
        choices[key] = option
    return choices, rest


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """Merge ``key=value`` overrides into a config (values are parsed as YAML).

    Args:
        cfg: The composed config.
        overrides: ``key=value`` or ``+key=value`` strings.

    Returns:
        A new config with the overrides applied.

    Raises:
        ConfigError: If an override is malformed or names a key the config lacks.
    """
    dotlist: list[str] = []
    for override in overrides:
        if "=" not in override:
            raise ConfigError(
                f"override {override!r} must look like key=value (e.g. training.lr=3e-4)"
            )
        key = override.split("=", 1)[0].strip()
        if key.startswith("+"):
            dotlist.append(override.strip()[1:])
            continue
        if OmegaConf.select(cfg, key, default=_MISSING) is _MISSING:
            raise ConfigError(
                f"override {override!r}: the config has no key {key!r}; check the spelling "
                f"or add a new key with +{override}"
            )
        dotlist.append(override.strip())
    merged = OmegaConf.merge(cfg, OmegaConf.from_dotlist(dotlist))
    if not isinstance(merged, DictConfig):  # pragma: no cover - merge of mappings
        raise ConfigError("the composed config is not a mapping")
    return merged


def to_container(cfg: DictConfig) -> dict[str, object]:
    """A resolved plain-Python copy of a config (for checkpoints and logs).

    Args:
        cfg: Any config node that is a mapping.

    Returns:
        Nested dicts and lists of primitives.

    Raises:
        ConfigError: If the node is not a mapping.
    """
    container = OmegaConf.to_container(cfg, resolve=True)
    if not isinstance(container, dict):  # pragma: no cover - DictConfig gives a dict
        raise ConfigError("expected a mapping config")
    return {str(key): value for key, value in container.items()}


_MISSING = object()


def _compose(
    root: Path,
    group: str | None,
    name: str,
    chain: tuple[str, ...],
    choices: Mapping[str, str] | None = None,
    used: set[str] | None = None,
) -> DictConfig:
    """Load ``root/[group/]name.yaml`` and merge its defaults list in order.

    ``choices`` (group -> option, from ``group=option`` overrides) replace the option a
    defaults entry ``group: option`` names; the groups replaced are added to ``used``.
    """
    choices = choices or {}
    used = used if used is not None else set()
    relative = f"{group}/{name}" if group else name
    if relative in chain:
        raise ConfigError(f"config defaults form a cycle: {' -> '.join((*chain, relative))}")
    path = root / f"{relative}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in (root / group if group else root).glob("*.yaml"))
        raise ConfigError(f"config {relative!r} not found at {path}; available: {options}")
    loaded = OmegaConf.load(path)
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"{path} must hold a mapping, not a list")
    defaults = loaded.pop("defaults", None)
    entries = _defaults_entries(defaults, path)
    if _SELF not in entries:
        entries.append(_SELF)
    result = OmegaConf.create()
    for entry in entries:
        if entry == _SELF:
            result = _merge(result, loaded)
        elif isinstance(entry, str):
            # A bare name refers to a config of the same group (Hydra's rule).
            child = _compose(root, group, entry, (*chain, relative), choices, used)
            result = _merge(result, child)
        else:
            sub_group, option = entry
            if sub_group in choices:
                option = choices[sub_group]
                used.add(sub_group)
            child = _compose(root, sub_group, option, (*chain, relative), choices, used)
            result = _merge(result, OmegaConf.create({sub_group: child}))
    return result


def _defaults_entries(defaults: object, path: Path) -> list[str | tuple[str, str]]:
    if defaults is None:
        return []
    if not isinstance(defaults, ListConfig):
        raise ConfigError(f"{path}: 'defaults' must be a list")
    entries: list[str | tuple[str, str]] = []
    for item in defaults:
        if isinstance(item, str):
            entries.append(item)
        elif isinstance(item, DictConfig) and len(item) == 1:
            ((key, value),) = item.items()
            entries.append((str(key), str(value)))
        else:
            raise ConfigError(f"{path}: defaults entry {item!r} must be a name or 'group: option'")
    return entries


def _merge(base: DictConfig, other: DictConfig) -> DictConfig:
    merged = OmegaConf.merge(base, other)
    if not isinstance(merged, DictConfig):  # pragma: no cover - merge of mappings
        raise ConfigError("configs must be mappings")
    return merged


def section_kwargs(schema: type[Any], values: Mapping[str, Any], section: str) -> dict[str, Any]:
    """Keyword arguments for a config dataclass from its YAML section, refusing unknown keys.

    Args:
        schema: The dataclass the section fills (e.g. the data or training config).
        values: The section (a DictConfig or a dict).
        section: The section's name in the config, for the message (e.g. ``"data"``).

    Returns:
        The section's keys (as strings) and values.

    Raises:
        ValueError: If a key is not a field of ``schema``; the message lists the known ones.
    """
    known = {field.name for field in dataclasses.fields(schema)}
    unknown = sorted(str(key) for key in values if key not in known)
    if unknown:
        raise ValueError(f"unknown {section} option(s) {unknown}; known: {sorted(known)}")
    return {str(key): value for key, value in values.items()}
