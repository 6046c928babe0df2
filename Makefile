# Thin wrappers over plain commands: each recipe is what you would type by hand.
# `make run` starts Nudge on this machine; `make test` runs the whole suite.

PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# settings.py keeps SQLite, the broker's folders and caught mail under NUDGE_VAR_DIR.
VAR_DIR := $(or $(NUDGE_VAR_DIR),var)
# The kombu filesystem broker does not create its folders.
BROKER_DIRS := $(VAR_DIR)/broker/queue $(VAR_DIR)/broker/control
STAMP := $(VENV)/.installed
# Translations: each locale/<code>/LC_MESSAGES/django.po compiles to the .mo Django reads (GNU gettext's
# msgfmt, through compilemessages); the .mo files are built here, never committed.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.DEFAULT_GOAL := help
.PHONY: help venv install messages run catcher test lint extension

help:
	@echo "make run      migrate, seed the demo, start web + worker + beat + mail catcher (PORT=$(PORT))"
	@echo "make test     the whole test suite (extra pytest arguments: ARGS=\"...\")"
	@echo "make lint     ruff, Django's system checks, missing migrations"
	@echo "make catcher  the mail catcher alone"
	@echo "make venv     create .venv and install requirements-dev.txt (and compile the translations)"
	@echo "make extension  build the Gmail extension for NUDGE_URL (default $(NUDGE_URL)) into dist/"
	@echo "make messages compile locale/*/LC_MESSAGES/django.po (needs GNU gettext)"

venv install: $(STAMP) $(MO_FILES)

messages: $(MO_FILES)

# manage.py loads settings, which outside DEBUG need the deployment's own keys; compiling needs none.
$(MO_FILES): export DJANGO_DEBUG := 1
$(MO_FILES): %.mo: %.po | $(STAMP)
	$(BIN)/python manage.py compilemessages --ignore=.venv

$(BIN)/python:
	python3 -m venv $(VENV)

# Reinstall only when a requirements file changed since the last install.
$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# honcho (devtools/run.py) runs Procfile.dev's commands with .venv/bin first on PATH; its last
# process (devtools/banner.py) prints the address and logins once the others answer. Ctrl-C
# stops them all (the worker warmly) and exits 0. The last line is a plain command, not a shell's,
# so make waits for it and reports no error.
run: export PATH := $(CURDIR)/$(BIN):$(PATH)
run: export DJANGO_DEBUG := 1
run: export SITE_URL := http://127.0.0.1:$(PORT)
run: export WEB_PORT := $(PORT)
run: export PYTHONUNBUFFERED := 1
run: $(STAMP) $(MO_FILES)
	mkdir -p $(BROKER_DIRS) $(VAR_DIR)/mail
	python manage.py migrate
	python manage.py seed_demo
	python -m devtools.run

catcher: $(STAMP)
	$(BIN)/python -m devtools.mailcatcher

test: $(STAMP) $(MO_FILES)
	mkdir -p $(BROKER_DIRS)
	$(BIN)/pytest -n auto --dist loadgroup $(ARGS)

# The system checks load settings, which outside DEBUG need the deployment's own keys.
lint: export DJANGO_DEBUG := 1
lint: $(STAMP)
	mkdir -p $(VAR_DIR)
	$(BIN)/ruff check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# The Chrome extension (extensions/chrome/) for one Nudge address: dist/nudge-for-gmail.zip.
NUDGE_URL ?= http://127.0.0.1:$(PORT)
extension:
	python3 extensions/build.py --nudge-url $(NUDGE_URL) --out dist/nudge-for-gmail
