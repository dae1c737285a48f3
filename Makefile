# Everyday targets. `make run` and `make test` set everything up first (re-running skips what is done).
.PHONY: setup run test test-fast lint index eval bench clean-index

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/python app.py

test:
	bash scripts/setup.sh --browser
	.venv/bin/python -m pytest -m "" -p no:cacheprovider

test-fast:
	.venv/bin/python -m pytest

# What .ci/run checks after the tests: ruff (the rules in pyproject.toml) and mypy on the package.
lint:
	.venv/bin/ruff check chatbot app.py tests bench
	.venv/bin/mypy chatbot

index:
	.venv/bin/chatbot index

eval:
	.venv/bin/chatbot eval

bench:
	.venv/bin/python bench/retrieval_bench.py
	.venv/bin/python bench/generation_bench.py
	.venv/bin/python bench/answer_bench.py

clean-index:
	find index -mindepth 1 ! -name README.md -delete
