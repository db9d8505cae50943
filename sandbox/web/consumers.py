"""The playground's WebSocket: one consumer per open function page.

Thin by design: it validates what the page sends, saves the function, hands invocations to the
sandbox worker through the channel layer, and relays log lines and results back as rendered
HTML fragments that htmx swaps in by id.
"""

import asyncio
import json

from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django.utils import timezone

from sandbox import versions
from sandbox.db_threads import OwnDatabaseThreads, in_db_thread
from sandbox.engine.invocation import InvalidEvent, PayloadTooLarge
from sandbox.models import Function, Invocation
from sandbox.web.fields import ConfigError
from sandbox.web.forms import apply_config
from sandbox.web.log_display import StreamedLog, visible_log_lines
from sandbox.web.page_context import versions_context
from sandbox.web.presenters import (
    history_page,
    log_lines_html,
    log_run_context,
    result_context,
    totals_context,
)
from sandbox.worker import (
    configure_function,
    ensure_embedded_worker,
    fail_stale_invocations,
    reset_environments,
    start_invocation,
    validate_event,
)
from sandbox.worker.channels import invocation_group
from sandbox.worker.sweeper import stale_sweeping

MAX_REPEAT = 20
DEFAULT_REPEAT = 5
RESUMED_NOTICE = "[coldstart] Reconnected: showing the invocation in progress."
RELOAD_SECONDS = 5.0  # a safety net only: the done message normally arrives first


class PlaygroundConsumer(OwnDatabaseThreads, AsyncWebsocketConsumer):
    async def connect(self):
        self.function = await self._own_function(
            self.scope.get("user"), self.scope["url_route"]["kwargs"]["slug"]
        )
        if self.function is None:
            await self.close(code=4403)
            return
        self.sequence = None
        self.current = None
        self.repeat = DEFAULT_REPEAT
        self.log = StreamedLog()
        self.done = None
        await self.accept()
        ensure_embedded_worker()
        await self._resume_running()

    async def disconnect(self, code):
        if getattr(self, "current", None):
            await self.channel_layer.group_discard(invocation_group(self.current), self.channel_name)
        if getattr(self, "sequence", None) and not self.sequence.done():
            self.sequence.cancel()

    @in_db_thread
    def _own_function(self, user, slug):
        if user is None or not user.is_authenticated:
            return None
        return Function.objects.filter(slug=slug, owner=user).first()

    # ------------------------------------------------------------------ from the page
    async def receive(self, text_data=None, bytes_data=None):
        try:
            data = json.loads(text_data or "")
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._notice("error", "The page sent a message the server could not read. Reload the page.")
            return
        action = data.get("action") or "invoke"
        if action == "draft":
            await self._save_draft(data)
            return
        if action == "reset":
            await reset_environments(self.function)
            await self._notice("info", "Environments reset: the next invocation is a cold start.")
        elif action in ("invoke", "invoke_n", "save"):
            await self._save_and_maybe_invoke(data, action)
        elif action in ("publish", "alias_put", "alias_delete"):
            await self._versions_action(data, action)
        else:
            await self._notice("error", f"Unknown action {action!r}.")

    async def _save_draft(self, data):
        """The editor's code (and handler) as the learner types: saved quietly, so a reload or a
        Check finds it. Configuration errors wait for Invoke, where they are shown."""
        fields = {key: data[key] for key in ("code", "handler") if key in data}
        try:
            self.function = await in_db_thread(apply_config, writes=True)(self.function, fields)
        except ConfigError:
            return
        await self.send(render_to_string("sandbox/fragments/draft_state.html", {"saved": timezone.now()}))

    async def _save_and_maybe_invoke(self, data, action):
        if action != "save" and self.sequence and not self.sequence.done():
            await self._notice("warning", "An invocation is still running; wait for its REPORT line.")
            return
        try:
            self.function = await in_db_thread(apply_config, writes=True)(self.function, data)
        except ConfigError as exc:
            await self._notice("error", str(exc))
            return
        if action == "save":
            await self._notice("info", "Saved.")
            return
        try:
            event_json = validate_event(data.get("event", "{}") or "{}")
        except (InvalidEvent, PayloadTooLarge) as exc:
            await self.send(render_to_string("sandbox/fragments/event_error.html", {"message": str(exc)}))
            return
        await self.send(render_to_string("sandbox/fragments/event_error.html", {"message": ""}))
        try:  # kept, so the re-rendered buttons show what the learner typed
            self.repeat = max(2, min(MAX_REPEAT, int(data.get("repeat", self.repeat))))
        except (TypeError, ValueError):
            pass
        count = self.repeat if action == "invoke_n" else 1
        qualifier = str(data.get("qualifier") or "")
        try:
            await in_db_thread(versions.check_qualifier)(self.function, qualifier)
        except versions.VersionsError as exc:
            await self._notice("error", exc.message)
            return
        self.sequence = asyncio.ensure_future(self._run_sequence(event_json, count, qualifier))

    async def _run_sequence(self, event_json, count, qualifier=""):
        await self._send_actions(running=True)
        try:
            for number in range(1, count + 1):
                self.done = asyncio.Event()
                try:  # an alias with weighted routing draws again for each invocation
                    invocation = await start_invocation(
                        self.function, event_json, "console", self.channel_name, qualifier=qualifier
                    )
                except versions.VersionsError as exc:  # deleted from another tab meanwhile
                    await self._notice("error", exc.message)
                    return
                self._follow(str(invocation.request_id))
                await self.send(
                    render_to_string(
                        "sandbox/fragments/invocation_started.html",
                        dict(log_run_context(invocation, []), number=number, count=count),
                    )
                )
                await self._wait_for_done(invocation)
        finally:
            await self._send_actions(running=False)

    async def _wait_for_done(self, invocation):
        """Until the worker (or this process's stale sweeper) says the invocation is done; the
        row is read every few seconds only in case that message was lost."""
        async with stale_sweeping():
            while not self.done.is_set():
                try:
                    await asyncio.wait_for(self.done.wait(), RELOAD_SECONDS)
                except TimeoutError:
                    status = await self._status(invocation.pk)
                    if status in Invocation.FINISHED and not self.done.is_set():
                        await self.invocation_done({"request_id": str(invocation.request_id)})

    @in_db_thread
    def _status(self, pk):
        return Invocation.objects.filter(pk=pk).values_list("status", flat=True).first()

    def _follow(self, request_id):
        self.current = request_id
        self.log = StreamedLog()

    async def _resume_running(self):
        """A page reloaded mid-invocation: show what was logged so far and keep streaming."""
        running = await self._running_invocation()
        if running is None:
            return
        request_id = str(running.request_id)
        await self.channel_layer.group_add(invocation_group(request_id), self.channel_name)
        self._follow(request_id)
        self.done = asyncio.Event()
        await self.send(
            render_to_string(
                "sandbox/fragments/invocation_started.html",
                dict(log_run_context(running, [RESUMED_NOTICE]), number=1, count=1),
            )
        )
        await self.invocation_logs({"request_id": request_id, "start": 0, "lines": running.log_lines})
        if running.trigger != "console":
            self.log.gap = True  # its lines are not streamed (sandbox.worker.client): the end shows them all
        self.sequence = asyncio.ensure_future(self._resume_wait(running))

    async def _resume_wait(self, invocation):
        await self._send_actions(running=True)
        try:
            await self._wait_for_done(invocation)
        finally:
            await self._send_actions(running=False)

    @in_db_thread(writes=True)
    def _running_invocation(self):
        fail_stale_invocations(self.function.id)
        return (
            Invocation.objects.filter(
                function=self.function, status__in=[Invocation.QUEUED, Invocation.RUNNING]
            )
            .order_by("-created")
            .first()
        )

    async def _versions_action(self, data, action):
        """Publish $LATEST (saved first, from the editor), or create/move/delete an alias."""
        selected = str(data.get("qualifier") or "")
        try:
            if action == "publish":
                self.function = await in_db_thread(apply_config, writes=True)(self.function, data)
                version, created = await in_db_thread(versions.publish, writes=True)(self.function)
                message = (
                    f"Published version {version.number}: a frozen copy of the code and configuration."
                    if created
                    else f"Nothing changed since version {version.number}: no new version (as on Lambda)."
                )
                selected = selected or ""
            elif action == "alias_put":
                message = await in_db_thread(self._put_alias, writes=True)(data)
            else:
                name = str(data.get("alias_name") or "")
                await in_db_thread(versions.delete_alias, writes=True)(self.function, name)
                message = f"Alias {name} deleted."
                selected = "" if selected == name else selected
        except (ConfigError, versions.VersionsError) as exc:
            await self._notice("error", getattr(exc, "message", None) or str(exc))
            return
        if action != "publish":
            await configure_function(self.function)  # provisioned environments follow aliases
        editing = action != "publish"  # the alias editor stays open, with the name just used
        await self.send(await self._render_versions(selected, editing, str(data.get("alias_name") or "")))
        await self._notice("info", message)  # last: when it shows, the bar is up to date

    def _put_alias(self, data):
        name = str(data.get("alias_name") or "").strip()
        version = str(data.get("alias_version") or "")
        extra = str(data.get("alias_extra_version") or "")
        try:
            percent = float(data.get("alias_weight") or 0)
        except (TypeError, ValueError):
            raise ConfigError("alias_weight", "The weight is a percentage from 0 to 100.") from None
        weights = {extra: percent / 100} if extra and percent else {}
        alias, created = versions.put_alias(
            self.function, name, version, {"additional_version_weights": weights}
        )
        target = f"version {alias.function_version}" if alias.function_version != "$LATEST" else "$LATEST"
        routed = "".join(f", {w * 100:g} % to version {v}" for v, w in alias.routing.items())
        return f"Alias {name} {'created' if created else 'moved'}: {target}{routed}."

    @in_db_thread
    def _render_versions(self, selected, open_alias_editor=False, alias_name=""):
        context = versions_context(self.function, selected, alias_name)
        context.update(function=self.function, open_alias_editor=open_alias_editor)
        bar = render_to_string("sandbox/fragments/versions_bar.html", context)
        picker = render_to_string("sandbox/fragments/qualifier_picker.html", context)
        return bar + picker

    # ------------------------------------------------------------------ from the worker
    async def invocation_logs(self, event):
        if event["request_id"] != self.current:
            return
        visible = self.log.feed(event["start"], event["lines"])
        if visible:
            await self.send(log_lines_html(visible))

    async def invocation_done(self, event):
        request_id = event["request_id"]
        if request_id != self.current:
            return
        self.current = None
        await self.channel_layer.group_discard(invocation_group(request_id), self.channel_name)
        await self.send(await self._render_done(request_id, self.log.hidden, self.log.gap))
        if self.done is not None:
            self.done.set()

    @in_db_thread
    def _render_done(self, request_id, hidden, gap):
        """The run's heading, result panel, totals and history, rendered together (they read
        the database); after a lost batch, the run's whole stored log again."""
        invocation = Invocation.objects.select_related("function").get(request_id=request_id)
        context = result_context(invocation)
        context.update(log_run_context(invocation, visible_log_lines(invocation.log_lines) if gap else []))
        context.update(totals_context(self.function.owner))
        context.update(history_page(self.function, 1))
        context.update(hidden=0 if gap else hidden, rerender_logs=gap)
        return render_to_string("sandbox/fragments/invocation_done.html", context)

    # ------------------------------------------------------------------ helpers
    async def _notice(self, level, message):
        await self.send(
            render_to_string("sandbox/fragments/notice.html", {"level": level, "message": message})
        )

    async def _send_actions(self, running):
        await self.send(
            render_to_string(
                "sandbox/fragments/actions.html",
                {"running": running, "function": self.function, "repeat": self.repeat},
            )
        )
