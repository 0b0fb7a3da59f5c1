/* Random IDs and names, name validation (SHA-256 is in sha256.c: only what hashes links libcrypto). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "berth/id.h"

static void random_bytes(void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom((char *)buf + got, len - got, 0);
		if (n < 0)
			abort();
		got += (size_t)n;
	}
}

void berth_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void berth_id_random(char out[BERTH_ID_LEN + 1])
{
	unsigned char b[BERTH_ID_LEN / 2];
	random_bytes(b, sizeof(b));
	berth_hex_encode(b, sizeof(b), out);
}

/* A subset of Docker's namesgenerator lists. */
static const char *const adjectives[] = {
	"admiring", "adoring",	 "affectionate", "agitated", "amazing",	 "angry",     "awesome",
	"blissful", "bold",	 "boring",	 "brave",    "busy",	 "charming",  "clever",
	"cool",	    "compassionate", "competent", "condescending", "confident", "cranky",
	"crazy",    "dazzling",	 "determined",	 "distracted", "dreamy", "eager",     "ecstatic",
	"elastic",  "elated",	 "elegant",	 "eloquent", "epic",	 "exciting",  "fervent",
	"festive",  "flamboyant", "focused",	 "friendly", "frosty",	 "funny",     "gallant",
	"gifted",   "goofy",	 "gracious",	 "great",    "happy",	 "hardcore",  "heuristic",
	"hopeful",  "hungry",	 "infallible",	 "inspiring", "interesting", "intelligent",
	"jolly",    "jovial",	 "keen",	 "kind",     "laughing", "loving",    "lucid",
	"magical",  "modest",	 "musing",	 "mystifying", "naughty", "nervous",  "nice",
	"nifty",    "nostalgic", "objective",	 "optimistic", "peaceful", "pedantic", "pensive",
	"practical", "priceless", "quirky",	 "quizzical", "recursing", "relaxed", "reverent",
	"romantic", "sad",	 "serene",	 "sharp",    "silly",	 "sleepy",    "stoic",
	"strange",  "stupefied", "suspicious",	 "sweet",    "tender",	 "thirsty",   "trusting",
	"unruffled", "upbeat",	 "vibrant",	 "vigilant", "vigorous", "wizardly",  "wonderful",
	"xenodochial", "youthful", "zealous",	 "zen",
};
static const char *const surnames[] = {
	"agnesi",   "albattani", "allen",   "almeida",	"archimedes", "ardinghelli", "aryabhata",
	"austin",   "babbage",	 "banach",  "bardeen",	"bartik",     "bassi",	     "bell",
	"bhabha",   "blackwell", "bohr",    "booth",	"borg",	      "bose",	     "brahmagupta",
	"brattain", "brown",	 "carson",  "cerf",	"chandrasekhar", "chatelet", "clarke",
	"colden",   "cori",	 "cray",    "curie",	"darwin",     "davinci",     "dijkstra",
	"dubinsky", "easley",	 "edison",  "einstein", "elion",      "engelbart",   "euclid",
	"euler",    "faraday",	 "fermat",  "fermi",	"feynman",    "franklin",    "galileo",
	"gates",    "goldberg",	 "goldstine", "golick", "goodall",    "hamilton",    "hawking",
	"heisenberg", "hermann", "hodgkin", "hofstadter", "hopper",   "hugle",	     "hypatia",
	"jackson",  "jang",	 "jennings", "jepsen",	"johnson",    "joliot",	     "jones",
	"kalam",    "kare",	 "keller",  "kepler",	"khorana",    "kilby",	     "kirch",
	"knuth",    "kowalevski", "lalande", "lamarr",	"lamport",    "leakey",	     "leavitt",
	"lewin",    "lichterman", "liskov", "lovelace", "lumiere",    "mahavira",    "mayer",
	"mccarthy", "mcclintock", "mclean", "meitner",	"mendel",     "mirzakhani",  "montalcini",
	"moore",    "morse",	 "napier",  "nash",	"neumann",    "newton",	     "nightingale",
	"nobel",    "noether",	 "northcutt", "noyce",	"panini",     "pare",	     "pasteur",
	"payne",    "perlman",	 "pike",    "poincare", "poitras",    "ptolemy",     "raman",
	"ramanujan", "ride",	 "ritchie", "roentgen", "rosalind",   "saha",	     "sammet",
	"shannon",  "shaw",	 "shirley", "shockley", "sinoussi",   "snyder",	     "spence",
	"stonebraker", "sutherland", "swanson", "swartz", "swirles",  "taussig",     "tesla",
	"thompson", "torvalds",	 "turing",  "varahamihira", "visvesvaraya", "volhard", "wescoff",
	"wiles",    "williams",	 "wilson",  "wing",	"wozniak",    "wright",	     "wu",
	"yalow",    "yonath",
};

void berth_name_random(char *out, size_t size, int retry)
{
	uint32_t r[2];
	random_bytes(r, sizeof(r));
	const char *adj = adjectives[r[0] % (sizeof(adjectives) / sizeof(adjectives[0]))];
	const char *sur = surnames[r[1] % (sizeof(surnames) / sizeof(surnames[0]))];
	if (retry > 0)
		snprintf(out, size, "%s_%s%u", adj, sur, r[0] % 10);
	else
		snprintf(out, size, "%s_%s", adj, sur);
}

bool berth_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

bool berth_name_valid(const char *name)
{
	if (*name == '/')
		name++;
	if (!isalnum((unsigned char)name[0]) || name[1] == '\0')
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}
