"""Pages for pairing an extension (``/pair/``) and managing paired devices (``/devices/``).

Pairing is two steps: type the code the extension shows, then check which device asks and
approve or deny it. Both steps look the request up by its user code (never by id, which a
person could guess), and wrong codes are rate-limited per user and per network.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import limits, pairing, selectors, services
from accounts.extension_download import extension_zip
from accounts.forms import PairCodeForm, refuse_without_validating
from accounts.models import Device, PairingRequest, User
from accounts.tokens import format_user_code
from common.ratelimit import client_ip, refused

UNKNOWN_CODE_MESSAGE = "No device is waiting for this code. Check the code the extension shows and try again."


def _render_code_form(request: HttpRequest, form: PairCodeForm) -> HttpResponse:
    return render(request, "accounts/pair.html", {"form": form})


def _find_pending_request(request: HttpRequest, form: PairCodeForm) -> PairingRequest | HttpResponse:
    """The pending request the submitted code names, or the code page explaining why there is none."""
    user = cast(User, request.user)
    ip = client_ip(request)
    decision = limits.pairing_code_allowed(user_id=user.pk, ip=ip)
    if not decision.allowed:
        refuse_without_validating(form, limits.pairing_code_refused_message(decision))
        return refused(_render_code_form(request, form), decision)
    if not form.is_valid():
        return _render_code_form(request, form)
    pairing_request = selectors.pairing_request_for_user_code(user_code=form.cleaned_data["code"])
    if pairing_request is None:
        limits.record_wrong_pairing_code(user_id=user.pk, ip=ip)
        form.add_error("code", UNKNOWN_CODE_MESSAGE)
        return _render_code_form(request, form)
    try:
        pairing.ensure_decidable(pairing_request)
    except pairing.PairingError as error:
        form.add_error("code", error.message)
        return _render_code_form(request, form)
    return pairing_request


@login_required
@require_http_methods(["GET", "POST"])
def pair(request: HttpRequest) -> HttpResponse:
    """Step 1: the code form (prefilled from ``?code=``); a valid code leads to step 2, the confirmation."""
    if request.method == "GET":
        return _render_code_form(request, PairCodeForm(initial={"code": request.GET.get("code", "")[:32]}))
    form = PairCodeForm(request.POST)
    found = _find_pending_request(request, form)
    if isinstance(found, HttpResponse):
        return found
    context = {"pairing": found, "user_code": format_user_code(found.user_code), "now": timezone.now()}
    return render(request, "accounts/pair_confirm.html", context)


@login_required
@require_POST
def pair_decide(request: HttpRequest) -> HttpResponse:
    """Step 2: approve or deny the request the (hidden) code names."""
    user = cast(User, request.user)
    decision = request.POST.get("decision")
    form = PairCodeForm(request.POST)
    if decision not in {"approve", "deny"}:
        return redirect("pair")
    found = _find_pending_request(request, form)
    if isinstance(found, HttpResponse):
        return found
    try:
        if decision == "approve":
            pairing.approve_pairing(request=found, user=user)
        else:
            pairing.deny_pairing(request=found, user=user)
    except pairing.PairingError as error:  # decided or expired since the page was shown
        form.add_error("code", error.message)
        return _render_code_form(request, form)
    if decision == "deny":
        messages.info(request, f"You denied “{found.device_name}”. It was not paired with your account.")
        return redirect("pair")
    messages.success(
        request,
        f"You approved “{found.device_name}”. The extension finishes pairing within a few seconds "
        "and then appears in this list.",
    )
    return redirect("devices")


@login_required
@require_safe
def devices(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    context = {
        "devices": selectors.devices_for_user(user=user),
        "now": timezone.now(),
        "private_mode_offered": settings.SMILE_PRIVATE_MODE_OFFERED,
    }
    return render(request, "accounts/devices.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def device_revoke(request: HttpRequest, device_id: int) -> HttpResponse:
    """A confirmation page; its POST revokes the device."""
    user = cast(User, request.user)
    device = get_object_or_404(Device, pk=device_id, user=user)
    if not device.is_active:
        messages.info(request, f"“{device.name}” was already revoked.")
        return redirect("devices")
    if request.method == "POST":
        pairing.revoke_device(user=user, device=device)
        messages.success(
            request, f"“{device.name}” was revoked. It is disconnected and can no longer send frames or read results."
        )
        return redirect("devices")
    return render(request, "accounts/device_revoke.html", {"device": device})


@require_safe
def get_extension(request: HttpRequest) -> HttpResponse:
    """How to install the extension: the zip to load unpacked, and the steps (not in the Web Store yet)."""
    package = extension_zip()
    context = {
        "package": package,
        "size_kb": max(1, round(len(package.data) / 1024)),
        "site_address": request.build_absolute_uri("/").rstrip("/"),
        "accepted": settings.SMILE_DEVELOPMENT_EXTENSION_ID in settings.SMILE_EXTENSION_IDS,
    }
    return render(request, "accounts/extension.html", context)


@require_safe
def download_extension(request: HttpRequest) -> HttpResponse:
    package = extension_zip()
    response = HttpResponse(package.data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    return response


@login_required
@require_POST
def device_mode(request: HttpRequest, device_id: int) -> HttpResponse:
    """Switch an active device between reading on the server and reading on the computer (private)."""
    user = cast(User, request.user)
    device = get_object_or_404(Device, pk=device_id, user=user, revoked_at__isnull=True)
    mode = request.POST.get("mode", "")
    if mode == Device.Mode.PRIVATE and not settings.SMILE_PRIVATE_MODE_OFFERED:
        messages.error(request, "Reading on this computer is not offered on this server yet.")
        return redirect("devices")
    if mode not in Device.Mode.values:
        messages.error(request, "Choose where this device reads your face: on this computer or on the server.")
        return redirect("devices")
    services.set_device_mode(device=device, mode=mode)
    if mode == Device.Mode.PRIVATE:
        messages.success(
            request,
            f"“{device.name}” now reads your face on its own computer: only each minute's summary is sent.",
        )
    else:
        messages.success(request, f"“{device.name}” now sends frames to the S.M.I.L.E server to be read.")
    return redirect("devices")
