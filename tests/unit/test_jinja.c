/* test_jinja.c - the Jinja subset (jinja.h): whitespace control, statements,
 * expressions, filters, tests, methods, and the errors with line:col. Expected
 * texts are what Python's jinja2 3.1.6 gives with trim_blocks and lstrip_blocks
 * (checked), but for tuples, which are lists here: jinja2 prints (1, 2) and
 * ('a', 1) where these print [1, 2] and ['a', 1] (jinja.h). */
#include <stdlib.h>

#include "chat_template.h"
#include "jinja.h"
#include "testhelp.h"

/* Render tmpl with vars (JSON text or NULL); the output, or "ERROR: message". */
static char *run(const char *tmpl, const char *vars_json)
{
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    json_t *vars = vars_json ? json_loads(vars_json, 0, NULL) : NULL;
    struct jinja_template *t = jinja_parse(tmpl, &err);
    if (!t || jinja_render(t, vars, &out, &err) < 0) {
        sb_reset(&out);
        sb_addf(&out, "ERROR: %s", err.buf);
    }
    jinja_free(t);
    json_decref(vars);
    sb_free(&err);
    return sb_detach(&out);
}

#define EXPECT(tmpl, vars, want) do { \
    char *got_ = run(tmpl, vars); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

static void test_whitespace(void)
{
    /* trim_blocks: the newline after a block tag goes; lstrip_blocks: the indent
     * before it; not after an expression */
    EXPECT("{% if true %}\n  x\n{% endif %}\n", NULL, "  x\n");
    EXPECT("a\n    {% if true %}\nb\n    {% endif %}\nc", NULL, "a\nb\nc");
    EXPECT("{{ 'a' }}\nb", NULL, "a\nb");
    EXPECT("a  {%- if true -%}  b  {%- endif %}\n", NULL, "ab");
    EXPECT("a\n  {{- 'b' -}}\n  c", NULL, "abc");
    EXPECT("x {# comment #}\ny", NULL, "x y");
    EXPECT("  {# comment #}\ny", NULL, "y");
    EXPECT("a {%+ if true %}b{% endif %}", NULL, "a b");
    EXPECT("one trailing newline goes\n\n", NULL, "one trailing newline goes\n");
}

static void test_statements(void)
{
    EXPECT("{% for x in xs %}{{ loop.index0 }}{{ x }}{% if not loop.last %},{% endif %}"
           "{% endfor %}", "{\"xs\": [\"a\", \"b\", \"c\"]}", "0a,1b,2c");
    EXPECT("{% for x in xs %}{{ loop.first }}{{ loop.length }}{{ loop.revindex }}{% endfor %}",
           "{\"xs\": [1, 2]}", "True22False21");
    EXPECT("{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{% else %}none{% endfor %}",
           "{\"xs\": [1, 2, 3]}", "2132");
    EXPECT("{% for x in [] %}x{% else %}empty{% endfor %}", NULL, "empty");
    EXPECT("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
           "{\"d\": {\"a\": 1, \"b\": \"two\"}}", "a=1;b=two;");
    EXPECT("{% for x in xs[::-1] %}{{ x }}{% endfor %}|{% for x in xs|reverse %}{{ x }}"
           "{% endfor %}", "{\"xs\": [1, 2, 3]}", "321|321");
    EXPECT("{% for x in range(5) %}{% if x == 1 %}{% continue %}{% endif %}"
           "{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}", NULL, "02");
    EXPECT("{% if a %}A{% elif b %}B{% else %}C{% endif %}", "{\"b\": 1}", "B");
    EXPECT("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
           NULL, "21");
    EXPECT("{% set ns = namespace(n=0, s='') %}{% for i in [1, 2, 3] %}"
           "{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", NULL, "6");
    EXPECT("{% set b %}in {{ 'block' }}{% endset %}[{{ b }}]", NULL, "[in block]");
    EXPECT("{% macro tag(name, v='x') %}<{{ name }}={{ v }}>{% endmacro %}"
           "{{ tag('a') }}{{ tag('b', v='y') }}", NULL, "<a=x><b=y>");
}

static void test_expressions(void)
{
    EXPECT("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }}",
           NULL, "7 3 -4 1 2 1024");
    EXPECT("{{ 7 / 2 }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }}", NULL,
           "3.5 1.0 0.30000000000000004 1e+20");
    EXPECT("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 2 }} {{ [1] + [2] }}", NULL,
           "a1NoneTrue abab [1, 2]");
    EXPECT("{{ 'yes' if x else 'no' }} {{ 'b' in 'abc' }} {{ 3 not in [1, 2] }}",
           "{\"x\": 0}", "no True True");
    EXPECT("{{ x is defined }} {{ y is not defined }} {{ n is none }} {{ s is string }} "
           "{{ d is mapping }} {{ l is iterable }} {{ f is false }} {{ 3 is odd }}",
           "{\"x\": 1, \"n\": null, \"s\": \"\", \"d\": {}, \"l\": [], \"f\": false}",
           "True True True True True True True True");
    EXPECT("{{ m.content }}|{{ m['role'] }}|{{ m.missing }}|{{ l[-1] }}|{{ l[1:] }}|"
           "{{ 'héllo'[1] }}{{ 'héllo'[::-1] }}",
           "{\"m\": {\"content\": \"c\", \"role\": \"r\"}, \"l\": [1, 2, 3]}",
           "c|r||3|[2, 3]|éolléh");
    EXPECT("{{ undefined_var }}|{{ not undefined_var }}|{{ (1, 2) }}|{{ {'a': [1, 'b']} }}",
           NULL, "|True|[1, 2]|{'a': [1, 'b']}");
    EXPECT("{{ a and b }}|{{ a or b }}|{{ 0 or '' or 'z' }}", "{\"a\": 1, \"b\": \"B\"}",
           "B|1|z");
    EXPECT("{{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }}", NULL,
           "True True True True");
}

static void test_methods(void)
{
    EXPECT("[{{ ' \\n a b \\n'.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\\n\\na\\n'.lstrip('\\n') }}]"
           "[{{ 'a\\n\\n'.rstrip('\\n') }}]", NULL, "[a b][a][a\n][a]");
    EXPECT("{{ 'a</think>b</think>c'.split('</think>') }} {{ ' a  b '.split() }} "
           "{{ 'a,b,c'.split(',', 1) }}", NULL, "['a', 'b', 'c'] ['a', 'b'] ['a', 'b,c']");
    EXPECT("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} "
           "{{ 'aXb'.upper() }} {{ 'AxB'.lower() }} {{ 'hello world'.title() }} "
           "{{ 'a-a'.replace('a', 'b') }}", NULL, "True True AXB axb Hello World b-b");
    EXPECT("{{ d.get('a') }} {{ d.get('z', 5) }} {{ d.get('z') }} {{ d.keys()|list }} "
           "{{ d.values()|list }}", "{\"d\": {\"a\": 1}}", "1 5 None ['a'] [1]");
}

static void test_filters(void)
{
    EXPECT("[{{ '  x  '|trim }}] {{ [1, 2]|length }} {{ 'héé'|length }} {{ 'ab'|upper }} "
           "{{ [3, 4]|first }}{{ [3, 4]|last }} {{ [1, 2]|join('-') }} {{ 'x'|capitalize }}",
           NULL, "[x] 2 3 AB 34 1-2 X");
    EXPECT("{{ u|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} "
           "{{ '3'|int + 1 }} {{ 'x'|int }} {{ 5|string ~ 'a' }}", NULL, "d  d 4 0 5a");
    EXPECT("{{ l|selectattr('k')|map(attribute='n')|list }} "
           "{{ l|rejectattr('k')|map(attribute='n')|join(',') }} "
           "{{ l|selectattr('n', 'equalto', 'b')|list|length }} {{ l|map(attribute='n')|map('upper')|join }}",
           "{\"l\": [{\"n\": \"a\", \"k\": 1}, {\"n\": \"b\", \"k\": 0}, {\"n\": \"c\"}]}",
           "['a'] b,c 1 ABC");
    EXPECT("{{ d|items|list }} {{ d|tojson }} {{ 'é\"\\n'|tojson }}",
           "{\"d\": {\"a\": [1, true, null], \"b\": 1.5}}",
           "[['a', [1, True, None]], ['b', 1.5]] {\"a\": [1, true, null], \"b\": 1.5} "
           "\"é\\\"\\n\"");
    EXPECT("{{ d|tojson(indent=2) }}", "{\"d\": {\"a\": [1, {}], \"b\": []}}",
           "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
}

static void test_globals(void)
{
    EXPECT("{{ raise_exception('bad role') }}", NULL, "ERROR: bad role");
    EXPECT("a{% if x %}{{ raise_exception('no') }}{% endif %}b", NULL, "ab");
    EXPECT("{{ strftime_now('%d %b %Y') }}", "{\"strftime_now\": \"26 Jul 2024\"}",
           "26 Jul 2024");
    EXPECT("{{ range(1, 7, 2)|list }} {{ dict(a=1) }}", NULL, "[1, 3, 5] {'a': 1}");
}

static void test_errors(void)
{
    EXPECT("line\n  {{ x | wordwrap }}", NULL, "ERROR: 2:10: unsupported filter 'wordwrap'");
    EXPECT("{% filter upper %}x{% endfilter %}", NULL, "ERROR: 1:4: unsupported tag 'filter'");
    EXPECT("{% if x is prime %}{% endif %}", NULL, "ERROR: 1:12: unsupported test 'prime'");
    EXPECT("\n\n{% if x %}never closed", NULL,
           "ERROR: 3:23: 'if' at 3:4 is never closed (expected 'elif')");
    EXPECT("{{ x ", NULL, "ERROR: 1:6: unclosed expression: expected '}}'");
    EXPECT("{{ 'abc }}", NULL, "ERROR: 1:4: unterminated string");
    EXPECT("{% endfor %}", NULL, "ERROR: 1:4: unexpected 'endfor'");
    EXPECT("{{ x.y.z }}", NULL, "ERROR: 1:5: cannot read attribute 'y' of an undefined value");
    EXPECT("{{ 'a'.zip() }}", NULL, "ERROR: 1:7: unsupported method 'zip' of a string");
    EXPECT("{{ 'a' + 1 }}", NULL, "ERROR: 1:8: unsupported operand types for +: string and integer");
    EXPECT("{{ x $ y }}", NULL, "ERROR: 1:6: unexpected character '$'");
    EXPECT("{% set a, b = 1, 2 %}", NULL,
           "ERROR: 1:9: unsupported: assigning to several names in one 'set'");
    EXPECT("{{ '%s' % 1 }}", NULL, "ERROR: 1:9: unsupported: '%' string formatting");
}

static void test_chat_template(void)
{
    json_t *tc = json_loads("{\"chat_template\": \"{{ bos_token }}{% for m in messages %}"
                            "{{ m.role }}:{{ m.content }};{% endfor %}{% if add_generation_prompt"
                            " %}A:{% endif %}{{ tools is none }}\", \"bos_token\": {\"content\":"
                            " \"<s>\"}, \"eos_token\": \"</s>\"}", 0, NULL);
    json_t *msgs = json_loads("[{\"role\": \"user\", \"content\": \"hi\"}]", 0, NULL);
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    const char *text = chat_template_text(tc, &err);
    CHECK(text != NULL);
    json_t *vars = chat_template_vars(tc, msgs, NULL, 1, NULL);
    CHECK_STR(json_string_value(json_object_get(vars, "eos_token")), "</s>");
    CHECK_INT(chat_template_render(text, vars, &out, &err), 0);
    CHECK_STR(sb_str(&out), "<s>user:hi;A:True");
    json_decref(vars);
    json_decref(msgs);
    json_decref(tc);
    tc = json_loads("{\"chat_template\": [{\"name\": \"rag\", \"template\": \"r\"}]}", 0, NULL);
    sb_reset(&err);
    CHECK(chat_template_text(tc, &err) == NULL);
    CHECK_STR(sb_str(&err), "tokenizer_config.json: chat_template has no template named "
                            "\"default\"");
    json_decref(tc);
    sb_free(&out);
    sb_free(&err);
}

int main(void)
{
    TEST(test_whitespace);
    TEST(test_statements);
    TEST(test_expressions);
    TEST(test_methods);
    TEST(test_filters);
    TEST(test_globals);
    TEST(test_errors);
    TEST(test_chat_template);
    return test_report();
}
