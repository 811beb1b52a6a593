# Every target creates or refreshes .venv from the pinned requirements first,
# so `make run` and `make test` are all the set-up a fresh clone needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
FILE ?= events/sample.json
ID ?=
# The CDK CLI that `make deploy` and `make diff` run (npx fetches it on first use).
CDK_CLI_VERSION ?= 2.1148.1
UV := uv==0.13.9

# The virtualenv's bin first: it carries the Node.js that the CDK (jsii) runs on.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help run send status show ops bootstrap test unit soak bench lint format settings-table synth deploy diff lock lambda-set clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the pinned set in seconds where pip takes a minute; it is itself pinned.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV)
	$(BIN)/python -m uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt -c constraints.txt
	@# The repo root and lambdas/ on the venv's path: the Lambda code imports its
	@# packages as top-level modules, exactly as the Lambda runtime does.
	@$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "pandabridge-dev.pth").write_text("$(CURDIR)\n$(CURDIR)/lambdas\n")'
	@# The project's commands (pyproject.toml [project.scripts]) as .venv/bin/pandabridge-*.
	$(BIN)/python -m uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

run: $(STAMP) ## Start the local stack (moto, local API gateway, ticket sync, demo service desk) and post the sample
	$(BIN)/python -m local $(ARGS)

send: $(STAMP) ## Post a JSON file to the running local stack (FILE=events/sample.json)
	$(BIN)/python -m local.demo.send $(FILE) $(ARGS)

status: $(STAMP) ## Incidents, tickets and callbacks of the running local stack
	$(BIN)/python -m local.demo.status $(ARGS)

show: $(STAMP) ## One incident of the running local stack: summary, ticket, payload (ID=...)
	@test -n "$(ID)" || { echo 'usage: make show ID=<incident id>  (ids: make status)' >&2; exit 2; }
	$(BIN)/python -m local.demo.show '$(ID)' $(ARGS)

ops: $(STAMP) ## On-call commands: ARGS="inspect <id>" | "replay <id>" | "redrive ticket-sync" (add --local for make run)
	$(BIN)/python -m ops $(ARGS)

.PHONY: config-check
config-check: $(STAMP) ## Validate the desk configuration file offline: integrations, paths, routes (ARGS="--config FILE")
	$(BIN)/python -m ops config check $(ARGS)

.PHONY: desk-check
desk-check: $(STAMP) ## Check each desk target of the local stack's configuration, ✔/✘ with fixes (ARGS="--target NAME")
	$(BIN)/python -m ops desk check --local $(ARGS)

.PHONY: smoke
smoke: $(STAMP) ## Send one smoke incident to URL=... and follow it to its callback, then remove it (ARGS="--local" for make run)
	$(BIN)/python -m ops.smoke $(if $(URL),--url '$(URL)') $(ARGS)

.PHONY: destroy
destroy: $(STAMP) ## Delete the deployed stack (cdk destroy); tables, buckets and log groups are kept
	$(BIN)/python -m ops.preflight
	$(BIN)/npx --yes aws-cdk@$(CDK_CLI_VERSION) destroy $(ARGS)

test: $(STAMP) lint ## Run every offline test
	@# The Lambda set (the layer's and the runtime's packages) for the handlers' isolated run;
	@# a no-op while lambda_set/*.txt are unchanged.
	$(BIN)/python -m lambda_set install
	$(BIN)/python -m pytest $(ARGS)

unit: $(STAMP) ## The fast loop: unit tests only, no server (ARGS=-k name to select)
	$(BIN)/python -m pytest tests/unit $(ARGS)

soak: $(STAMP) ## The reliability suite at ten times its load (SOAK_FACTOR=10), for a long run
	SOAK_FACTOR=$${SOAK_FACTOR:-10} $(BIN)/python -m pytest tests/reliability $(ARGS)

bench: $(STAMP) ## Run the benchmarks on a quiet machine: print their tables, write BENCHMARKS.md
	$(BIN)/python -m bench $(ARGS)

lint: $(STAMP) ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

settings-table: $(STAMP) ## Write README.md's settings table from the settings model (stacks/config.py)
	$(BIN)/python -m stacks.settings_table

synth: $(STAMP) ## Synthesize the CloudFormation template into cdk.out/ and lint it with cfn-lint
	rm -rf cdk.out
	CDK_OUTDIR=cdk.out $(BIN)/python app.py
	$(BIN)/cfn-lint cdk.out/*.template.json

bootstrap: $(STAMP) ## Create the CDK bootstrap stack in the current account/region (once)
	$(BIN)/python -m ops.preflight
	$(BIN)/npx --yes aws-cdk@$(CDK_CLI_VERSION) bootstrap $(ARGS)

deploy: $(STAMP) ## Deploy the stack into the current AWS account (needs AWS credentials)
	@# Credentials and a region first: without them the CDK fails only after a full synth.
	$(BIN)/python -m ops.preflight
	$(BIN)/npx --yes aws-cdk@$(CDK_CLI_VERSION) deploy $(ARGS)

diff: $(STAMP) ## Show what `make deploy` would change
	$(BIN)/python -m ops.preflight
	$(BIN)/npx --yes aws-cdk@$(CDK_CLI_VERSION) diff $(ARGS)

lock: ## Re-resolve constraints.txt from the direct pins
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt
	@touch $(STAMP)

lambda-set: $(STAMP) ## Regenerate lambda_set/*.txt: the Powertools layer's and the runtime's packages
	$(BIN)/python -m lambda_set compile

clean: ## Remove the virtualenv, cdk.out and caches
	rm -rf $(VENV) cdk.out .pytest_cache .ruff_cache .local
