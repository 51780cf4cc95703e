# The two commands: `make run` serves the site, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck migrations-check pytest node-test extension extension-models install clean certs vendor

$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "S.M.I.L.E needs Python 3.11; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy .

migrations-check: $(INSTALLED)
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The extension's pure modules (extension/lib/), with Node's built-in test runner.
node-test:
	@if command -v node >/dev/null; then node --test extension/tests/*.test.js; \
	elif [ "$$SMILE_REQUIRE_SERVICES" = 1 ]; then echo "node is required (apt-get install nodejs)" >&2; exit 1; \
	else echo "SKIPPED the extension's node tests: node is not installed"; fi

# The Chrome Web Store zip: dist/smile-extension-<version>.zip.
extension: $(INSTALLED)
	$(BIN)/python scripts/package_extension.py --out dist

# The models private mode runs, into the unpacked extension (extension/models/, ignored by git).
extension-models: $(INSTALLED)
	$(BIN)/python scripts/package_extension.py --models

test: lint typecheck migrations-check node-test pytest

# A local CA and a certificate for localhost under certs/ (git-ignored); FORCE=1 makes a new CA.
certs: $(INSTALLED)
	$(BIN)/python -m deploy.certs $(if $(FORCE),--force)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles

# Front-end libraries: pinned in package.json/package-lock.json, copied into static/vendor/ and
# committed there, so neither `make run` nor CI needs npm (and no CDN is used at run time).
vendor: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p static/vendor/chartjs
	# Without its source map: ManifestStaticFilesStorage (production) refuses a map it cannot find.
	sed '/^\/\/# sourceMappingURL=/d' node_modules/chart.js/dist/chart.umd.min.js > static/vendor/chartjs/chart.umd.min.js
	cp node_modules/chart.js/LICENSE.md static/vendor/chartjs/LICENSE.md
	node -p "require('./node_modules/chart.js/package.json').version" > static/vendor/chartjs/VERSION
	# axe-core checks accessibility in the browser tests only; it is never served by the site.
	mkdir -p tests/browser/vendor/axe-core
	cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE tests/browser/vendor/axe-core/
	node -p "require('./node_modules/axe-core/package.json').version" > tests/browser/vendor/axe-core/VERSION
	# LiteRT.js runs the served .tflite files in the extension's offscreen document (private mode,
	# docs/extension.md): its ES module (the bare import of its helper made relative), the helper,
	# and the one WebAssembly build Chrome >= 116 loads (relaxed SIMD, no threads, no JSPI).
	mkdir -p extension/vendor/litert
	sed -e '/^\/\/# sourceMappingURL=/d' -e 's#from "@litertjs/wasm-utils"#from "./wasm-utils.js"#' \
		node_modules/@litertjs/core/dist/index.js > extension/vendor/litert/litert.js
	sed '/^\/\/# sourceMappingURL=/d' node_modules/@litertjs/wasm-utils/dist/index.js > extension/vendor/litert/wasm-utils.js
	cp node_modules/@litertjs/core/wasm/litert_wasm_internal.js node_modules/@litertjs/core/wasm/litert_wasm_internal.wasm \
		extension/vendor/litert/
	node -p "require('./node_modules/@litertjs/core/package.json').version" > extension/vendor/litert/VERSION
	# The package declares Apache-2.0 but ships no licence text: the same text as MediaPipe's.
	cp inference/weights/LICENSE.mediapipe.txt extension/vendor/litert/LICENSE.txt
