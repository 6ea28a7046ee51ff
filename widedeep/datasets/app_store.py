"""A seeded app-store simulation: impressions of apps to users, labelled installed or not.

Modelled on the Google Play setting of Cheng et al. (2016), "Wide & Deep Learning for
Recommender Systems", section 2 and Fig. 4: each example is one *impression* (an app shown
to a user in a context) and the label is 1 if the user installed the impression app.

The generative story
--------------------
A **world** (everything fixed across days) is derived from ``random_state`` alone:

1. *Apps* ``0 .. n_apps-1`` (int app ids). Each app has a category (``n_categories``
   categories with Dirichlet-distributed sizes), a latent vector
   ``v_a = center[category] + N(0, 0.6^2 I)`` of dimension ``latent_rank``, a popularity
   (log-normal, drives both installs and impressions) and a quality bias
   ``b_a ~ N(0, app_bias_std^2)``.
2. *Users* ``0 .. n_users-1`` have demographics (country, language, gender, age) and a
   primary device, all fixed. A hidden taste ``z_u ~ N(0, I)`` plus demographic offsets
   (one vector per country, age bucket and gender) gives each user a preference over
   categories (a softmax); the user's **installed apps** (about ``mean_installed`` of them,
   at least one, distinct) are drawn 70% from the preferred categories and 30% from global
   popularity, popularity-weighted within a category.
3. *The user–app affinity* that embeddings can learn and generalize: the user's **taste
   vector** is ``t_u = mean(v_i for i installed) + demographic offsets(u)``, a function of the
   observed features only; the latent logit of showing app ``a`` is
   ``latent_strength * standardize(t_u . v_a)`` (standardized over impressions, so
   ``latent_strength`` is its standard deviation in logits).
4. *Exception rules* only a cross-product ``installed_app x impression_app`` memorizes:
   ``n_rules`` (installed app ``i``, impression app ``j``, effect) triples, ``i`` among the
   most installed apps, ``j`` weighted by impression popularity. Half are **vetoes**
   (``j`` in the same category as ``i``: a substitute the affinity says is a good match, the
   user never installs it; effect ``-rule_strength * U(0.75, 1.25)``), half are **boosts**
   (``j`` in another category: a complement the affinity does not predict; effect
   ``+rule_strength * U(0.75, 1.25)``). Effects of every rule that fires add up.
5. *Context*: per (device, category) and (time-of-day block, category) offsets
   ``N(0, context_strength^2)``.
6. The **intercept** is calibrated once so that the mean positive rate over impressions is
   ``positive_rate``.

A **day** of data (``day = 0, 1, ...``) uses that world and draws fresh impressions from
``(random_state, day)``: a user (weighted by a fixed log-normal activity), a device (the
user's primary one 90% of the time), an hour (a diurnal profile) and an impression app (60%
from the user's preferred categories, 40% from global popularity, never an app the user has
already installed). On day ``d >= 1``, ``new_apps_per_day`` new apps per day have launched
(ids ``n_apps + (d'-1) * new_apps_per_day + k`` for launch day ``d'``); they appear as
impressions (not in installed bags, not in rules), which grows the vocabulary for warm
starts. The label is ``Bernoulli(sigmoid(f))`` with

    f = intercept + b_a + latent logit + context logit + sum of fired rule effects
        + N(0, noise_std^2)

All logits except the noise are functions of the example's columns, so ``truth["logit"]``
(``f`` without the noise) is the Bayes-optimal score.

Knobs (keyword arguments of `AppStore`, `make_app_store` and `make_requests`)
---------------------------------------------------------------------------
=====================  =========  ==========================================================
``n_users``            20_000     users in the population
``n_apps``             1_000      apps on day 0 (ids ``0 .. n_apps-1``)
``n_categories``       20         app categories (``<= n_apps``)
``latent_rank``        8          dimension of app latent vectors and user taste vectors
``mean_installed``     12.0       mean size of an installed-apps bag (>= 1; ~11.3 after
                                  removing repeats)
``n_rules``            200        exception rules, half vetoes and half boosts (fewer if a
                                  tiny world has too few distinct valid pairs)
``rule_strength``      3.0        mean absolute logit effect of a rule
``latent_strength``    1.5        std (logits) of the latent affinity term
``context_strength``   0.3        std of the device x category and daypart x category offsets
``app_bias_std``       0.5        std of the per-app quality bias
``noise_std``          0.5        std of the unobservable per-impression logit noise
``positive_rate``      0.2        mean install rate the intercept is calibrated to
``new_apps_per_day``   20         apps launched on each day >= 1
``random_state``       None       int (the world's seed), ``np.random.Generator`` (a seed is
                                  drawn from it) or None (a fresh random world per call)
=====================  =========  ==========================================================

With the defaults (seed 0, 200,000 impressions): positive rate 0.20, a rule fires on ~7% of
impressions (boost-fired install rate ~0.65, veto-fired ~0.05), AUC of the Bayes-optimal
logit ~0.84, of the latent term alone ~0.77, of the rule term alone ~0.55, of the logit
without the rules ~0.80. About 90% of the (user, impression app) pairs of 100,000 held-out
impressions never occur among 300,000 training impressions, so a model has to generalize
from the installed apps and demographics rather than memorize users.

Columns (a column batch, see `widedeep.records`)
-------------------------------------------------
=====================  ================  =============================================
``user_age``           int64             years, 16..80
``user_country``       str               one of US IN BR ID DE JP MX GB
``user_language``      str               the country's language (or ``en``)
``user_gender``        str               female / male / unknown
``installed_apps``     `Ragged` int64    app ids installed by the user (sorted, distinct)
``device``             str               phone_low / phone_high / tablet
``hour``               int64             local hour of the impression, 0..23
``impression_app``     int64             app id shown
``impression_category`` str              category name of the impression app
=====================  ================  =============================================

A user keeps the same demographics and installed apps in all their examples; a user id is
deliberately *not* a column (``truth["user_id"]`` has it).

Example
-------
>>> columns, labels, truth = make_app_store(1000, random_state=0, return_truth=True)
>>> sorted(columns)[:3], labels.shape, sorted(truth["rules"])
(['device', 'hour', 'impression_app'], (1000,), ['effect', 'impression_app', 'installed_app'])
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ..records import Ragged

__all__ = ["AppStore", "make_app_store", "make_requests", "expand_request"]

_CATEGORY_NAMES = ("games_casual", "games_action", "social", "communication", "photo",
                   "video", "music", "news", "shopping", "finance", "travel", "maps",
                   "health", "fitness", "education", "productivity", "tools", "weather",
                   "food", "books")
_COUNTRIES = np.array(["US", "IN", "BR", "ID", "DE", "JP", "MX", "GB"])
_COUNTRY_WEIGHTS = np.array([0.25, 0.20, 0.12, 0.10, 0.09, 0.09, 0.08, 0.07])
_COUNTRY_LANGUAGE = np.array(["en", "hi", "pt", "id", "de", "ja", "es", "en"])
_GENDERS = np.array(["female", "male", "unknown"])
_GENDER_WEIGHTS = np.array([0.46, 0.46, 0.08])
_DEVICES = np.array(["phone_low", "phone_high", "tablet"])
_DEVICE_WEIGHTS = np.array([0.45, 0.40, 0.15])
_AGE_BUCKET_EDGES = np.array([25, 35, 45, 55])
# Diurnal impression profile: a trough at 4am, a peak at 8pm.
_HOUR_WEIGHTS = 1.0 + 0.8 * np.cos((np.arange(24) - 20) * np.pi / 12)
_APP_SPREAD = 0.6           # std of an app's latent vector around its category center
_DEMOGRAPHIC_SCALE = 0.5    # std of the demographic offset vectors
_CATEGORY_FOCUS = 2.0       # inverse temperature of a user's category preference
_INSTALL_FROM_TASTE = 0.7   # share of installed apps drawn from preferred categories
_IMPRESSION_FROM_TASTE = 0.6
_PRIMARY_DEVICE_SHARE = 0.9
_N_CALIBRATION = 50_000


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _seed_from(random_state):
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2 ** 63))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2 ** 63))
    if isinstance(random_state, numbers.Integral) and random_state >= 0:
        return int(random_state)
    raise ValueError(f"random_state must be None, a non-negative int or a numpy Generator, "
                     f"got {random_state!r}")


def _draw_from_rows(cumulative, rows, uniforms):
    """Inverse-CDF draw of one column per entry of ``rows`` from a [n_rows, width] matrix of
    row-normalized cumulative probabilities (last column exactly 1)."""
    n_rows, width = cumulative.shape
    keys = (cumulative + np.arange(n_rows)[:, None]).ravel()
    flat = np.searchsorted(keys, rows + uniforms, side="right")
    return np.minimum(flat - rows * width, width - 1)


class _Catalog:
    """The apps available on one day, with samplers for popularity and category draws."""

    def __init__(self, category, vectors, bias, popularity, n_categories):
        self.category, self.vectors, self.bias = category, vectors, bias
        self.popularity = popularity
        self.n_apps = category.shape[0]
        cum = np.cumsum(popularity)
        self.global_cumulative = cum / cum[-1]
        self.by_category = np.argsort(category, kind="stable")
        sorted_category = category[self.by_category]
        sorted_popularity = popularity[self.by_category]
        totals = np.bincount(sorted_category, weights=sorted_popularity, minlength=n_categories)
        before = np.concatenate([[0.0], np.cumsum(totals)[:-1]])  # popularity of earlier categories
        within = (np.cumsum(sorted_popularity) - before[sorted_category]) / totals[sorted_category]
        last_of_category = np.append(np.flatnonzero(np.diff(sorted_category)), self.n_apps - 1)
        within[last_of_category] = 1.0  # exact, so a draw never spills into the next category
        self.category_keys = sorted_category + within
        self.category_share = totals / totals.sum()

    def draw_popular(self, uniforms):
        return np.minimum(np.searchsorted(self.global_cumulative, uniforms, side="right"),
                          self.n_apps - 1)

    def draw_in_category(self, categories, uniforms):
        position = np.searchsorted(self.category_keys, categories + uniforms, side="right")
        return self.by_category[np.minimum(position, self.n_apps - 1)]


class AppStore:
    """A simulated app store (the world) from which days of impressions are sampled.

    The constructor builds the world (users, apps, installed bags, rules; about 0.2 s with the
    defaults); `sample` and `requests` draw a day of data from it. Every parameter is a knob
    of the module docstring's table (same names and defaults).

    Attributes: ``seed`` (int the world is derived from), ``rules`` (dict of arrays
    ``installed_app``, ``impression_app`` int64 and ``effect`` float64 [n_rules]),
    ``installed`` (`Ragged` of each user's installed app ids, [n_users]), ``intercept``.
    """

    def __init__(self, *, n_users=20_000, n_apps=1_000, n_categories=20, latent_rank=8,
                 mean_installed=12.0, n_rules=200, rule_strength=3.0, latent_strength=1.5,
                 context_strength=0.3, app_bias_std=0.5, noise_std=0.5, positive_rate=0.2,
                 new_apps_per_day=20, random_state=None):
        for name, value, low in (("n_users", n_users, 1), ("n_apps", n_apps, 2),
                                 ("n_categories", n_categories, 1),
                                 ("latent_rank", latent_rank, 1), ("n_rules", n_rules, 0),
                                 ("new_apps_per_day", new_apps_per_day, 0)):
            if not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if n_categories > n_apps:
            raise ValueError(f"n_categories ({n_categories}) must be <= n_apps ({n_apps})")
        if not 1.0 <= mean_installed <= n_apps / 2:
            raise ValueError(f"mean_installed must be in [1, n_apps/2 = {n_apps / 2}], "
                             f"got {mean_installed!r}")
        if not 0.0 < positive_rate < 1.0:
            raise ValueError(f"positive_rate must be in (0, 1), got {positive_rate!r}")
        for name, value in (("rule_strength", rule_strength), ("latent_strength", latent_strength),
                            ("context_strength", context_strength), ("app_bias_std", app_bias_std),
                            ("noise_std", noise_std)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self.n_users, self.n_apps, self.n_categories = n_users, n_apps, n_categories
        self.latent_rank, self.mean_installed = latent_rank, float(mean_installed)
        self.n_rules, self.rule_strength = n_rules, float(rule_strength)
        self.latent_strength = float(latent_strength)
        self.context_strength = float(context_strength)
        self.app_bias_std, self.noise_std = float(app_bias_std), float(noise_std)
        self.positive_rate, self.new_apps_per_day = float(positive_rate), new_apps_per_day
        self.seed = _seed_from(random_state)
        self.category_names = np.array(
            _CATEGORY_NAMES[:n_categories] if n_categories <= len(_CATEGORY_NAMES)
            else [f"category_{k:03d}" for k in range(n_categories)])
        self._build_world(np.random.default_rng([self.seed, 0]))
        self._catalogs = {0: self._base_catalog}
        self._calibrate(np.random.default_rng([self.seed, 4]))

    # ---------------------------------------------------------------- the world
    def _new_apps(self, rng, n):
        category = rng.choice(self.n_categories, size=n, p=self._category_weights)
        vectors = (self.category_centers[category]
                   + rng.normal(0, _APP_SPREAD, (n, self.latent_rank)))
        return (category, vectors, rng.normal(0, self.app_bias_std, n),
                rng.lognormal(0.0, 1.0, n))

    def _build_world(self, rng):
        C, r, U, A = self.n_categories, self.latent_rank, self.n_users, self.n_apps
        self._category_weights = rng.dirichlet(np.full(C, 2.0))
        self.category_centers = rng.normal(0, 1, (C, r))
        category, vectors, bias, popularity = self._new_apps(rng, A)
        category[rng.permutation(A)[:C]] = np.arange(C)  # no empty category
        self._base_catalog = _Catalog(category, vectors, bias, popularity, C)

        self.user_country = rng.choice(len(_COUNTRIES), size=U, p=_COUNTRY_WEIGHTS)
        self.user_language = np.where(rng.random(U) < 0.8,
                                      _COUNTRY_LANGUAGE[self.user_country], "en")
        self.user_gender = rng.choice(len(_GENDERS), size=U, p=_GENDER_WEIGHTS)
        self.user_age = np.clip(np.rint(rng.normal(34, 12, U)), 16, 80).astype(np.int64)
        self.user_device = rng.choice(len(_DEVICES), size=U, p=_DEVICE_WEIGHTS)
        self.user_activity = rng.lognormal(0.0, 0.5, U)
        demographic = (rng.normal(0, _DEMOGRAPHIC_SCALE, (len(_COUNTRIES), r))[self.user_country]
                       + rng.normal(0, _DEMOGRAPHIC_SCALE, (len(_AGE_BUCKET_EDGES) + 1, r))[
                           np.searchsorted(_AGE_BUCKET_EDGES, self.user_age, side="right")]
                       + rng.normal(0, _DEMOGRAPHIC_SCALE, (len(_GENDERS), r))[self.user_gender])
        hidden = rng.normal(0, 1, (U, r)) + demographic
        preference = _CATEGORY_FOCUS * hidden @ self.category_centers.T / np.sqrt(r)
        preference = np.exp(preference - preference.max(axis=1, keepdims=True))
        preference *= self._base_catalog.category_share  # big categories get more installs
        cumulative = np.cumsum(preference, axis=1)
        self._preference_cumulative = cumulative / cumulative[:, -1:]
        self._preference_cumulative[:, -1] = 1.0

        # Installed bags: draw with replacement, then keep distinct apps.
        sizes = np.minimum(1 + rng.poisson(self.mean_installed - 1, U), A // 2)
        slot_user = np.repeat(np.arange(U), sizes)
        apps = self._draw_apps(rng, slot_user, self._base_catalog, _INSTALL_FROM_TASTE)
        keys = np.unique(slot_user * A + apps)
        owner, app = keys // A, keys % A
        self.installed = Ragged(app, np.bincount(owner, minlength=U))
        self._installed_keys = keys
        self.install_count = np.bincount(app, minlength=A)
        self.taste = (np.stack([np.bincount(owner, weights=vectors[app, d], minlength=U)
                                for d in range(r)], axis=1)
                      / self.installed.lengths[:, None] + demographic)

        self.device_effect = rng.normal(0, self.context_strength, (len(_DEVICES), C))
        self.daypart_effect = rng.normal(0, self.context_strength, (4, C))
        self._make_rules(rng, owner, app)

    def _make_rules(self, rng, owner, app):
        catalog, A = self._base_catalog, self.n_apps
        if self.n_rules == 0:
            empty = np.zeros(0, dtype=np.int64)
            self.rules = {"installed_app": empty, "impression_app": empty.copy(),
                          "effect": np.zeros(0)}
            self._rule_keys, self._rule_effects = np.zeros(0, dtype=np.int64), np.zeros(0)
            return
        head = np.argsort(-self.install_count, kind="stable")[:max(20, A // 10)]
        weight = self.install_count[head] / self.install_count[head].sum()
        n_draw = 4 * self.n_rules + 20  # oversample, then keep distinct valid pairs
        installed = rng.choice(head, size=n_draw, p=weight)
        is_veto = np.arange(n_draw) % 2 == 0
        same = catalog.draw_in_category(catalog.category[installed], rng.random(n_draw))
        other = catalog.draw_popular(rng.random(n_draw))
        impressed = np.where(is_veto, same, other)
        valid = (impressed != installed) & (is_veto | (catalog.category[impressed]
                                                       != catalog.category[installed]))
        _, first = np.unique(installed * A + impressed, return_index=True)
        keep = np.zeros(n_draw, dtype=bool)
        keep[first] = True
        keep &= valid
        veto_rows = np.flatnonzero(keep & is_veto)[: self.n_rules // 2]
        boost_rows = np.flatnonzero(keep & ~is_veto)[: self.n_rules - veto_rows.size]
        rows = np.sort(np.concatenate([veto_rows, boost_rows]))
        sign = np.where(is_veto[rows], -1.0, 1.0)
        self.rules = {"installed_app": installed[rows].astype(np.int64),
                      "impression_app": impressed[rows].astype(np.int64),
                      "effect": sign * self.rule_strength * rng.uniform(0.75, 1.25, rows.size)}
        installs = sp.csr_matrix((np.ones(owner.size), (owner, app)), shape=(self.n_users, A))
        rule_matrix = sp.csr_matrix((self.rules["effect"], (self.rules["installed_app"],
                                                            self.rules["impression_app"])),
                                    shape=(A, A))
        # Summed effect of every (user, impression app) pair some rule fires on, as sorted keys.
        fired = (installs @ rule_matrix).tocoo()
        keys = fired.row.astype(np.int64) * A + fired.col
        order = np.argsort(keys)
        self._rule_keys, self._rule_effects = keys[order], fired.data[order]

    def _draw_apps(self, rng, users, catalog, from_taste):
        n = users.shape[0]
        categories = _draw_from_rows(self._preference_cumulative, users, rng.random(n))
        by_taste = catalog.draw_in_category(categories, rng.random(n))
        by_popularity = catalog.draw_popular(rng.random(n))
        return np.where(rng.random(n) < from_taste, by_taste, by_popularity)

    def _catalog(self, day):
        """The apps available on ``day``: a `_Catalog` of ``n_apps_at(day)`` apps."""
        if not isinstance(day, numbers.Integral) or day < 0:
            raise ValueError(f"day must be an int >= 0, got {day!r}")
        if day not in self._catalogs:
            previous = self._catalog(day - 1)
            parts = zip((previous.category, previous.vectors, previous.bias, previous.popularity),
                        self._new_apps(np.random.default_rng([self.seed, 2, day]),
                                       self.new_apps_per_day))
            self._catalogs[day] = _Catalog(*(np.concatenate(p) for p in parts), self.n_categories)
        return self._catalogs[day]

    def app_categories(self, day=0):
        """Category name of every app id in use on ``day``, str [n_apps_at(day)]."""
        return self.category_names[self._catalog(day).category]

    def n_apps_at(self, day):
        """Number of app ids in use on ``day`` (the app-id vocabulary size)."""
        return self.n_apps + day * self.new_apps_per_day

    # ---------------------------------------------------------------- logits
    def _logits(self, users, apps, devices, hours, catalog):
        latent = np.einsum("ij,ij->i", self.taste[users], catalog.vectors[apps])
        latent = self.latent_strength * (latent - self._latent_mean) / self._latent_std
        category = catalog.category[apps]
        context = self.device_effect[devices, category] + self.daypart_effect[hours // 6, category]
        rules = np.zeros(users.shape[0])
        if self._rule_keys.size:
            keys = users * self.n_apps + apps
            position = np.minimum(np.searchsorted(self._rule_keys, keys), self._rule_keys.size - 1)
            hit = (apps < self.n_apps) & (self._rule_keys[position] == keys)
            rules[hit] = self._rule_effects[position[hit]]
        return {"latent_logit": latent, "context_logit": context, "rule_logit": rules,
                "app_bias_logit": catalog.bias[apps]}

    def _calibrate(self, rng):
        self._latent_mean, self._latent_std = 0.0, 1.0
        users, apps, devices, hours = self._impressions(rng, _N_CALIBRATION, self._base_catalog)
        raw = np.einsum("ij,ij->i", self.taste[users], self._base_catalog.vectors[apps])
        self._latent_mean, self._latent_std = float(raw.mean()), float(raw.std()) or 1.0
        parts = self._logits(users, apps, devices, hours, self._base_catalog)
        f = sum(parts.values()) + self.noise_std * rng.normal(size=users.shape[0])
        low, high = -30.0, 30.0
        for _ in range(60):  # bisection: the mean install rate is increasing in the intercept
            mid = 0.5 * (low + high)
            low, high = (mid, high) if _sigmoid(f + mid).mean() < self.positive_rate else (low, mid)
        self.intercept = 0.5 * (low + high)

    # ---------------------------------------------------------------- sampling
    def _impressions(self, rng, n, catalog, users=None):
        """Users (sorted, which keeps every lookup below cache-friendly), devices, hours and
        impression apps of ``n`` impressions; callers shuffle the rows."""
        if users is None:
            counts = rng.multinomial(n, self.user_activity / self.user_activity.sum())
            users = np.repeat(np.arange(self.n_users), counts)
        devices = np.where(rng.random(n) < _PRIMARY_DEVICE_SHARE, self.user_device[users],
                           rng.choice(len(_DEVICES), size=n, p=_DEVICE_WEIGHTS))
        hours = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
        apps = self._draw_apps(rng, users, catalog, _IMPRESSION_FROM_TASTE)
        todo = np.flatnonzero(self._is_installed(users, apps))
        for _ in range(1000):  # redraw impressions of already installed apps
            if todo.size == 0:
                break
            apps[todo] = self._draw_apps(rng, users[todo], catalog, _IMPRESSION_FROM_TASTE)
            todo = todo[self._is_installed(users[todo], apps[todo])]
        else:
            raise RuntimeError("could not draw impressions of apps that are not installed")
        return users, apps, devices, hours

    def _is_installed(self, users, apps):
        keys = users * self.n_apps + apps
        position = np.minimum(np.searchsorted(self._installed_keys, keys),
                              self._installed_keys.size - 1)
        return (apps < self.n_apps) & (self._installed_keys[position] == keys)

    def _user_columns(self, users):
        return {"user_age": self.user_age[users],
                "user_country": _COUNTRIES[self.user_country[users]],
                "user_language": self.user_language[users],
                "user_gender": _GENDERS[self.user_gender[users]],
                "installed_apps": self.installed.take(users)}

    def sample(self, n_examples, day=0, return_truth=False):
        """``n_examples`` impressions of ``day``: ``(columns, labels[, truth])``.

        ``labels`` int64 [n] of 0/1. ``truth`` (with ``return_truth``): ``rules`` (dict of
        arrays ``installed_app``, ``impression_app``, ``effect`` [n_rules]), ``user_id`` [n],
        ``logit`` [n] (the Bayes-optimal logit: everything but the noise), its parts
        ``latent_logit``, ``rule_logit``, ``context_logit``, ``app_bias_logit`` [n],
        ``probability`` [n] = sigmoid(logit) and the scalar ``intercept``.
        """
        if not isinstance(n_examples, numbers.Integral) or n_examples < 0:
            raise ValueError(f"n_examples must be an int >= 0, got {n_examples!r}")
        catalog = self._catalog(day)
        rng = np.random.default_rng([self.seed, 1, day])
        users, apps, devices, hours = self._impressions(rng, n_examples, catalog)
        parts = self._logits(users, apps, devices, hours, catalog)
        logit = self.intercept + sum(parts.values())
        noisy = logit + self.noise_std * rng.normal(size=n_examples)
        labels = (rng.random(n_examples) < _sigmoid(noisy)).astype(np.int64)
        shuffle = rng.permutation(n_examples)
        users, apps = users[shuffle], apps[shuffle]
        devices, hours = devices[shuffle], hours[shuffle]
        labels, logit = labels[shuffle], logit[shuffle]
        parts = {name: part[shuffle] for name, part in parts.items()}
        columns = self._user_columns(users)
        columns.update(device=_DEVICES[devices], hour=hours.astype(np.int64),
                       impression_app=apps.astype(np.int64),
                       impression_category=self.category_names[catalog.category[apps]])
        if not return_truth:
            return columns, labels
        truth = {"rules": {k: v.copy() for k, v in self.rules.items()}, "user_id": users,
                 "logit": logit, "probability": _sigmoid(logit), "intercept": self.intercept,
                 **parts}
        return columns, labels, truth

    def requests(self, n_requests, n_candidates=100, day=0, return_truth=False):
        """``n_requests`` ranking requests of ``day``, see `make_requests`."""
        catalog = self._catalog(day)
        most = catalog.n_apps // 2
        if not isinstance(n_candidates, numbers.Integral) or not 1 <= n_candidates <= most:
            raise ValueError(f"n_candidates must be an int in [1, {most}], "
                             f"got {n_candidates!r}")
        rng = np.random.default_rng([self.seed, 3, day])
        users, _, devices, hours = self._impressions(rng, n_requests, catalog)
        shuffle = rng.permutation(n_requests)
        users, devices, hours = users[shuffle], devices[shuffle], hours[shuffle]
        # Candidates: distinct non-installed apps, drawn without replacement in proportion
        # to the impression distribution (Gumbel top-k).
        taste_share = self._preference_cumulative[users]
        taste_share = np.diff(taste_share, axis=1, prepend=0.0)
        within = catalog.popularity / np.bincount(catalog.category, weights=catalog.popularity,
                                                  minlength=self.n_categories)[catalog.category]
        weight = (_IMPRESSION_FROM_TASTE * taste_share[:, catalog.category] * within
                  + (1 - _IMPRESSION_FROM_TASTE) * catalog.popularity / catalog.popularity.sum())
        score = np.log(weight) + rng.gumbel(size=weight.shape)
        owned = self.installed.take(users)
        score[owned.row_ids, owned.values] = -np.inf
        candidates = np.argsort(-score, axis=1, kind="stable")[:, :n_candidates]
        out, logits = [], []
        for row in range(n_requests):
            query = self._user_columns(users[row:row + 1])
            query.update(device=_DEVICES[devices[row:row + 1]],
                         hour=hours[row:row + 1].astype(np.int64))
            apps = candidates[row].astype(np.int64)
            candidates_columns = {
                "impression_app": apps,
                "impression_category": self.category_names[catalog.category[apps]]}
            out.append({"request_id": row, "query": query, "candidates": candidates_columns})
            if return_truth:
                n = apps.size
                parts = self._logits(np.full(n, users[row]), apps, np.full(n, devices[row]),
                                     np.full(n, hours[row]), catalog)
                logits.append(self.intercept + sum(parts.values()))
        if not return_truth:
            return out
        logit = np.array(logits).reshape(n_requests, n_candidates)
        return out, {"logit": logit, "probability": _sigmoid(logit), "user_id": users}


def make_app_store(n_examples, *, day=0, random_state=None, return_truth=False, **world_params):
    """``n_examples`` simulated impressions: ``(columns, labels)`` or, with ``return_truth``,
    ``(columns, labels, truth)``; see `AppStore` for the world parameters (``world_params``)
    and `AppStore.sample` for ``truth``. The world depends on ``random_state`` and
    ``world_params`` only; the impressions on them and ``day``.
    """
    return AppStore(random_state=random_state, **world_params).sample(
        n_examples, day=day, return_truth=return_truth)


def make_requests(n_requests, n_candidates=100, *, day=0, random_state=None,
                  return_truth=False, **world_params):
    """Ranking requests on the world of ``make_app_store(..., random_state, **world_params)``.

    Returns a list of ``n_requests`` dicts ``{"request_id": int, "query": columns,
    "candidates": columns}``: ``query`` is a 1-row column batch of the user and context
    columns (``user_*``, ``installed_apps``, ``device``, ``hour``), ``candidates`` a
    ``n_candidates``-row batch of ``impression_app`` and ``impression_category`` (distinct
    apps the user has not installed). `expand_request` joins them into the full column batch
    a model scores. With ``return_truth`` also a dict of ``logit`` and ``probability``
    [n_requests, n_candidates] and ``user_id`` [n_requests].
    """
    return AppStore(random_state=random_state, **world_params).requests(
        n_requests, n_candidates, day=day, return_truth=return_truth)


def expand_request(request):
    """The ``n_candidates``-row column batch of one request: query columns repeated for every
    candidate, plus the candidate columns."""
    n = len(next(iter(request["candidates"].values())))
    rows = np.zeros(n, dtype=np.int64)
    columns = {name: (col.take(rows) if isinstance(col, Ragged) else col[rows])
               for name, col in request["query"].items()}
    columns.update(request["candidates"])
    return columns
