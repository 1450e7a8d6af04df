# Sourced by the bench scripts: write_section HEADING TEXT replaces the section "## HEADING" of
# bench/RESULTS.md (up to the next "## " heading) with TEXT, or appends it; the sections other
# scripts (and other engineers) wrote stay as they are.
write_section() {
  local heading="## $1" text=$2 results="$ROOT/bench/RESULTS.md" tmp
  tmp=$(mktemp)
  if [[ -f "$results" ]] && grep -qxF "$heading" "$results"; then
    awk -v heading="$heading" -v text="$text" '
      /^## / { if (skip) skip = 0; if ($0 == heading) { print text; print ""; skip = 1; next } }
      !skip { print }' "$results" > "$tmp" && cat "$tmp" > "$results"
  else
    { [[ -f "$results" ]] || echo "# Benchmark results"; echo; echo "$text"; } >> "$results"
  fi
  rm -f "$tmp"
}
