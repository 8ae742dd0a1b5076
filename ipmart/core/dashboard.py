"""The per-role admin home: each app says what needs doing now.

An app contributes in `<app>/admin_dashboard.py` (discovered like admin.py when the project
starts):

    from ipmart.core.dashboard import Count, register_counts

    @register_counts(permission="support.view_inquiry")
    def inquiries(user):
        return [Count(_("Inquiries overdue"), n, url, permission="support.view_inquiry")]

A provider runs only for a staff member holding its `permission`, must make a fixed number of
queries, and each Count is shown only if its own `permission` (the one its link needs) is held,
so nobody is shown a link they cannot open. Charts (`register_chart`) work the same way and
return a `BarChart` (see `ipmart.core.charts`)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.module_loading import autodiscover_modules


@dataclass
class Count:
    label: str
    count: int
    url: str
    permission: str
    # "attention" when the count is not zero and someone should act.
    urgent: bool = True

    @property
    def level(self) -> str:
        return "attention" if self.urgent and self.count else "calm"


@dataclass
class _Provider:
    permission: str
    func: Callable
    order: int = 100
    kind: str = "counts"
    extra: dict = field(default_factory=dict)


_PROVIDERS: list[_Provider] = []


def _register(kind: str, permission: str, order: int):
    def decorator(func):
        key = (func.__module__, func.__qualname__)
        _PROVIDERS[:] = [p for p in _PROVIDERS if (p.func.__module__, p.func.__qualname__) != key]
        _PROVIDERS.append(_Provider(permission=permission, func=func, order=order, kind=kind))
        _PROVIDERS.sort(key=lambda p: (p.order, p.func.__module__, p.func.__qualname__))
        return func

    return decorator


def register_counts(*, permission: str, order: int = 100):
    """Register `func(user) -> list[Count]`."""
    return _register("counts", permission, order)


def register_chart(*, permission: str, order: int = 100):
    """Register `func(user) -> BarChart | None`."""
    return _register("chart", permission, order)


def counts_for(user) -> list[Count]:
    shown = []
    for provider in _PROVIDERS:
        if provider.kind == "counts" and user.has_perm(provider.permission):
            shown.extend(c for c in provider.func(user) if user.has_perm(c.permission))
    return shown


def charts_for(user) -> list:
    charts = []
    for provider in _PROVIDERS:
        if provider.kind == "chart" and user.has_perm(provider.permission):
            chart = provider.func(user)
            if chart is not None:
                charts.append(chart)
    return charts


def autodiscover() -> None:
    autodiscover_modules("admin_dashboard")
