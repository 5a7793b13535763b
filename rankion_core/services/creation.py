"""Generate and edit: validate, then in one transaction insert the image and its job
and take the credits. The worker does the rest (see ``jobs.py``)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from datetime import datetime

from attrs import define, evolve

from ..errors import Conflict, InsufficientCredits, Invalid, NotFound, RateLimited
from ..models import Actor, EditSession, Image, Job, JobKind, JobStatus
from ..ports import ModelCapabilities, UnitOfWork
from ..rules import credits, generation, text, tree
from ..rules.limits import SLOT_MAX
from . import joblog
from .deps import Deps
from .gallery import check_ready, get_image, lock_tree

#: what a field referring to a missing (or another team's) resource says
NOT_FOUND = "not found"

#: the job kinds the active-jobs limit counts, and the Retry-After it suggests
CHARGED_KINDS = (JobKind.GENERATE, JobKind.EDIT)
ACTIVE_JOBS_RETRY_AFTER = 5


@define(frozen=True)
class GenerateRequest:
    prompt: str
    model: str | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None
    title: str | None = None
    tags: list[str] | None = None
    project_id: int | None = None
    article_id: int | None = None
    slot: str | None = None
    #: how many images (1..4, each its own row and job, each charged)
    n: int | None = None
    output_compression: int | None = None
    moderation: str | None = None
    partial_images: int | None = None


@define(frozen=True)
class EditRequest:
    prompt: str
    edit_session_id: int | None = None
    mask: str | None = None  # base64 PNG; transparent pixels mark what to change
    size: str | None = None
    quality: str | None = None
    input_fidelity: str | None = None
    partial_images: int | None = None


@define(frozen=True)
class QueuedImage:
    image_id: int
    job_id: int


@define(frozen=True)
class Queued:
    job_id: int
    image_id: int
    credits_charged: int
    credits_remaining: int
    edit_session_id: int | None = None
    #: every image queued, the first being ``image_id``/``job_id``
    images: tuple[QueuedImage, ...] = ()


def _positive(field: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise Invalid(f"{field} must be positive", details={field: "must be positive"})


class Creation:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _model(self, model_id: str | None) -> ModelCapabilities:
        """The chosen model's capabilities (the provider's default when none is named)."""
        provider = self.deps.provider
        models = provider.capabilities
        chosen = generation.choice(
            "model", model_id, [m.id for m in models], provider.default_model
        )
        found = generation.model_named(models, chosen)
        assert found is not None  # choice() picked one of them
        return found

    async def generate(self, actor: Actor, req: GenerateRequest) -> Queued:
        now = self.deps.clock.now()
        _positive("project_id", req.project_id)
        _positive("article_id", req.article_id)
        if req.slot is not None:
            text.check_length("slot", req.slot, low=1, high=SLOT_MAX)
        model = self._model(req.model)
        options = generation.check_generate(
            model,
            size=req.size,
            quality=req.quality,
            background=req.background,
            output_format=req.output_format,
            n=req.n,
            output_compression=req.output_compression,
            moderation=req.moderation,
            partial_images=req.partial_images,
        )
        prompt, title = text.prompt(req.prompt), text.title(req.title)
        tags = text.normalize_tags(req.tags or [])
        images = [
            Image(
                id=0,
                team_id=actor.team_id,
                prompt=prompt,
                model=model.id,
                size=options.size,
                quality=options.quality,
                background=options.background,
                output_format=options.output_format,
                title=title,
                tags=list(tags),
                project_id=req.project_id,
                article_id=req.article_id,
                slot=req.slot,
                created_at=now,
                updated_at=now,
            )
            for _ in range(options.n)
        ]
        payload = _with_options({}, options.job_options())
        async with self.deps.storage.unit_of_work() as uow:
            await self._check_links(uow, actor, req.project_id, req.article_id)
            queued, jobs = await self._enqueue(uow, images, JobKind.GENERATE, payload)
            await uow.commit()
        for job in jobs:
            joblog.queued(job)
        self.deps.notify_job()
        return queued

    async def edit(self, actor: Actor, image_id: int, req: EditRequest) -> Queued:
        now = self.deps.clock.now()
        prompt = text.prompt(req.prompt)
        mask = _decode_mask(req.mask)
        mask_key = None
        if mask is not None:
            # checked and stored before the unit of work: the thread and the blob store
            # would hold the database's write lock (and on SQLite the COMMIT of the
            # units of work that share it) for as long as they take
            async with self.deps.storage.unit_of_work() as uow:
                source = await get_image(uow, actor, image_id)
            self._edit_options(source, req, has_mask=True)  # its errors come first
            await asyncio.to_thread(
                self.deps.codec.check_mask, mask, source.width or 0, source.height or 0
            )
            mask_key = await self._store_mask(mask)
        committed = False
        try:
            async with self.deps.storage.unit_of_work() as uow:
                # its tree locked: a delete for good in it re-attaches the variant made
                # here, and the ancestors' ``edited_at`` is set
                found = await lock_tree(uow, await get_image(uow, actor, image_id))
                if found is None:
                    raise NotFound("image")
                source, family = found
                model, options = self._edit_options(source, req, has_mask=mask is not None)
                session = await self._session(uow, actor, source, req.edit_session_id)
                variant = _variant_of(
                    source, prompt, options.size, options.quality, session.id, now
                )
                variant.model = model.id
                payload = _with_options(
                    {"source_id": source.id, "mask_key": mask_key}, options.job_options()
                )
                queued, jobs = await self._enqueue(uow, [variant], JobKind.EDIT, payload)
                touched = [*tree.ancestor_ids(family, source), source.id]
                await uow.images.set_edited_at(actor.team_id, touched, now)
                await uow.commit()
                committed = True
        except BaseException:
            if mask_key and not committed:  # once committed the job may point to it
                await self.deps.blobs.delete(mask_key)
            raise
        joblog.queued(jobs[0])
        self.deps.notify_job()
        return evolve(queued, edit_session_id=session.id)

    def _edit_options(
        self, source: Image, req: EditRequest, *, has_mask: bool
    ) -> tuple[ModelCapabilities, generation.EditOptions]:
        """The model and options of an edit of ``source``; its errors (in the trash,
        not ready, options the model refuses) as ``edit`` answers them."""
        _check_editable(source)
        model = self._edit_model(source.model)
        options = generation.check_edit(
            model,
            size=req.size,
            quality=req.quality,
            default_size=source.size,
            has_mask=has_mask,
            input_fidelity=req.input_fidelity,
            partial_images=req.partial_images,
        )
        return model, options

    def _edit_model(self, source_model: str) -> ModelCapabilities:
        """The source's model when the provider still offers it, else the default."""
        models = self.deps.provider.capabilities
        return generation.model_named(models, source_model) or self._model(None)

    async def _check_links(
        self, uow: UnitOfWork, actor: Actor, project_id: int | None, article_id: int | None
    ) -> None:
        if project_id is not None and await uow.projects.get(actor.team_id, project_id) is None:
            # the words of the 404 a path's missing project gets; a body's reference is
            # a 422 like every other field of the body (docs/api-decisions.md)
            raise Invalid("project_id: project not found", details={"project_id": NOT_FOUND})
        if article_id is not None and not await self.deps.articles.exists(
            actor.team_id, project_id, article_id
        ):
            raise Invalid("article_id: article not found", details={"article_id": NOT_FOUND})

    async def _session(
        self, uow: UnitOfWork, actor: Actor, source: Image, session_id: int | None
    ) -> EditSession:
        if session_id is None:
            fresh = EditSession(
                id=0,
                team_id=actor.team_id,
                root_id=source.tree_root,
                created_at=self.deps.clock.now(),
            )
            return await uow.edit_sessions.add(fresh)
        session = await uow.edit_sessions.get(actor.team_id, session_id)
        if session is None or session.root_id != source.tree_root:
            raise Invalid(
                "edit_session_id belongs to no session of this image's tree",
                details={"edit_session_id": "not a session of this image's variant tree"},
            )
        return session

    async def _store_mask(self, mask: bytes | None) -> str | None:
        if mask is None:
            return None
        return await self.deps.blobs.put(mask, kind="masks", ext="png", content_type="image/png")

    async def _enqueue(
        self, uow: UnitOfWork, images: Sequence[Image], kind: JobKind, payload: dict[str, object]
    ) -> tuple[Queued, list[Job]]:
        """Insert each image with a job of its own and take their charge, all in the
        caller's transaction: one charge for the lot, one ledger entry per job (so a
        failed job is refunded on its own)."""
        now = self.deps.clock.now()
        cost = credits.cost(kind)
        jobs: list[Job] = []
        for image in images:
            image.credits_charged = cost
            await uow.images.add(image)
            job = Job(
                id=0,
                team_id=image.team_id,
                kind=kind,
                status=JobStatus.QUEUED,
                created_at=now,
                payload={"image_id": image.id, **payload},
            )
            jobs.append(await uow.jobs.add(job))
        team_id, total = images[0].team_id, cost * len(images)
        # the charge last: its conditional UPDATE holds the team's row until the commit
        # (a refused one rolls the entries back with the rest)
        for image, job in zip(images, jobs, strict=True):
            entry = credits.charge_entry(
                team_id=team_id, kind=kind, image_id=image.id, job_id=job.id, now=now
            )
            await uow.ledger.add(entry)
        remaining = await uow.teams.charge(team_id, total)
        if remaining is None:
            raise InsufficientCredits(total, await uow.teams.balance(team_id))
        await self._check_active_jobs(uow, team_id)
        made = tuple(QueuedImage(image.id, job.id) for image, job in zip(images, jobs, strict=True))
        queued = Queued(made[0].job_id, made[0].image_id, total, remaining, images=made)
        return queued, jobs

    async def _check_active_jobs(self, uow: UnitOfWork, team_id: int) -> None:
        """At most ``max_active_jobs`` generate/edit jobs per team, this one included.

        Counted after the charge: its conditional UPDATE locks the team's row until
        the commit, so concurrent requests of one team are counted one after another.
        """
        limit = self.deps.max_active_jobs
        if limit > 0 and await uow.jobs.count_active(team_id, CHARGED_KINDS) > limit:
            raise RateLimited(
                f"the team already has {limit} generations or edits queued or running",
                retry_after=ACTIVE_JOBS_RETRY_AFTER,
            )


def _with_options(payload: dict[str, object], options: dict[str, object]) -> dict[str, object]:
    """A job's payload, with the provider options it was asked for (if any)."""
    return {**payload, "options": options} if options else payload


def _check_editable(source: Image) -> None:
    if source.deleted_at is not None:
        raise Conflict("the image is in the trash; restore it first", code="image_in_trash")
    check_ready(source, "edited")


def _decode_mask(mask: str | None) -> bytes | None:
    if mask is None:
        return None
    try:
        return base64.b64decode(mask.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("mask must be a base64 PNG", details={"mask": "not valid base64"}) from exc


def _variant_of(
    source: Image, prompt: str, size: str, quality: str, session_id: int, now: datetime
) -> Image:
    variant = Image(
        id=0,
        team_id=source.team_id,
        prompt=prompt,
        model=source.model,
        size=size,
        quality=quality,
        output_format=source.output_format,
        background=source.background,
        title=source.title,
        tags=list(source.tags),
        project_id=source.project_id,
        article_id=source.article_id,
        slot=source.slot,
        edit_session_id=session_id,
        created_at=now,
        updated_at=now,
    )
    tree.attach(variant, source)
    return variant
