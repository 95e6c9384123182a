"""The words of the synthetic corpus's sentence grammar (:mod:`ptalker.data.synth.sentences`).

Nouns come in typed categories and every verb names the categories it takes; places and times suit
the verb and the tense. The words lean on bilabials (p b m), labiodentals (f v), rounded vowels
and open vowels, which move lips and jaw most, and together cover every English phoneme.
"""

FEMALE_NAMES = ("Mary", "Molly", "Barbara", "Vivian", "Phoebe", "Fiona", "Mabel", "Olivia", "Ava", "Bianca",
                "Maeve", "Amber", "Pam", "Ruth", "Judy", "Zoe", "Joy", "Paula", "Rosa")
MALE_NAMES = ("Paul", "Bob", "Frank", "Marvin", "Victor", "Pablo", "Owen", "Bruno", "Hugo", "Walter", "Max",
              "Vaughn", "George", "Theo", "Joe", "Roy", "Boris", "Mohammed", "Ivan")
PRONOUNS = (("I", "my", False), ("we", "our", False), ("they", "their", False), ("he", "his", True),
            ("she", "her", True), ("you", "your", False))
"""(subject, possessive, takes third-person -s)."""
RELATIVES = (("mother", "her"), ("father", "his"), ("brother", "his"), ("sister", "her"), ("grandmother", "her"),
             ("grandfather", "his"), ("uncle", "his"), ("aunt", "her"), ("neighbor", ""), ("cousin", ""),
             ("teacher", ""), ("boss", ""), ("best friend", ""))
"""People named by their relation ("my mother"): (noun, possessive; "" = his or her)."""
PEOPLE = (("farmer", ""), ("baker", ""), ("plumber", ""), ("mayor", ""), ("pilot", ""), ("fisherman", "his"),
          ("woman", "her"), ("man", "his"), ("boy", "his"), ("girl", "her"), ("mailman", "his"), ("doctor", ""),
          ("nurse", ""), ("mechanic", ""), ("museum guide", ""))
"""People named by what they are ("the farmer")."""
PLURAL_SUBJECTS = ("my parents", "our neighbors", "the farmers", "the boys", "my cousins", "the twins",
                   "the fishermen", "my grandparents", "the girls", "the bakers", "the Moores")
PEOPLE_ADJECTIVES = ("old", "young", "friendly", "busy", "new", "tired", "cheerful", "famous")
RELATIVE_ADJECTIVES = ("little", "older", "younger", "busy", "cheerful", "favorite")
"""For relatives: "my little sister", "her favorite uncle"."""

THINGS = {
    "clothes": ("coat", "sweater", "scarf:scarves", "jacket", "hat", "robe", "vest", "raincoat", "bathing suit",
                "pair of boots:pairs of boots", "pair of mittens:pairs of mittens", "uniform", "overcoat"),
    "baked": ("loaf of bread:loaves of bread", "pie", "muffin", "waffle", "pancake", "cookie", "cake", "bagel",
              "pumpkin pie", "apple pie", "blueberry muffin", "cupcake"),
    "fruit": ("apple", "plum", "peach:peaches", "mango:mangoes", "banana", "apricot", "avocado", "orange", "pear",
              "melon", "papaya", "bunch of grapes:bunches of grapes"),
    "vehicles": ("car", "van", "truck", "tractor", "jeep", "camper", "minivan", "pickup truck", "station wagon",
                 "school bus:school buses"),
    "buildings": ("barn", "fence", "porch:porches", "mailbox:mailboxes", "shed", "gate", "garage", "front door",
                  "boathouse", "bird feeder", "doghouse"),
    "furniture": ("lamp", "chair", "table", "sofa", "mirror", "bookshelf:bookshelves", "bench:benches",
                  "rocking chair", "clock", "cupboard", "television", "wardrobe"),
    "books": ("book", "novel", "magazine", "cookbook", "notebook", "map", "atlas:atlases", "picture book",
              "photo album", "comic book", "treasure map", "diary:diaries"),
    "instruments": ("piano", "violin", "flute", "trombone", "tuba", "banjo", "drum", "harmonica", "guitar", "oboe",
                    "ukulele", "bugle", "cello", "saxophone", "bass:basses"),
    "animals": ("dog", "puppy:puppies", "pony:ponies", "mule", "goat", "cow", "cat", "rabbit", "parrot", "horse",
                "lamb", "donkey", "sheep:sheep", "goose:geese", "ox:oxen"),
}
"""Countable nouns per category, "singular:plural" where the plural is not noun + s."""
ADJECTIVES = {
    "clothes": (("warm", "soft", "heavy", "new", "old", "woolen", "waterproof", "cozy"),
                ("blue", "purple", "brown", "orange", "yellow", "beige", "maroon", "velvet", "pink")),
    "baked": (("warm", "fresh", "homemade", "huge", "little", "sweet", "delicious"), ()),
    "fruit": (("ripe", "sweet", "fresh", "juicy", "big", "small", "perfect"), ()),
    "vehicles": (("old", "little", "shiny", "rusty", "new", "beautiful", "noisy", "muddy"),
                 ("blue", "brown", "purple", "white", "yellow", "black", "maroon", "red")),
    "buildings": (("old", "wooden", "broken", "little", "crooked", "lovely"),
                  ("white", "red", "brown", "blue", "yellow", "green")),
    "furniture": (("old", "wooden", "broken", "heavy", "antique", "small", "beautiful", "wobbly"),
                  ("white", "brown", "black", "blue")),
    "books": (("old", "new", "funny", "thick", "famous", "beautiful", "boring", "tiny", "worn"), ()),
    "instruments": (("old", "new", "shiny", "beautiful", "cheap", "expensive", "borrowed"), ()),
    "animals": (("hungry", "old", "fluffy", "small", "noisy", "lovely", "muddy", "sleepy", "young"),
                ("brown", "black", "white", "spotted", "gray")),
}
"""Per category: (general adjectives, colour adjectives); two adjectives come in that order."""
PLURAL_CATEGORIES = ("clothes", "baked", "fruit", "books", "animals")
"""Categories whose plurals sound natural ("three ripe plums"; not "three tubas")."""
PAINT_COLORS = ("purple", "blue", "brown", "white", "yellow", "maroon", "bright orange", "pale pink")

VERBS = (("buy", "bought", "clothes baked fruit vehicles furniture books instruments", "shop", "get"),
         ("sell", "sold", "vehicles furniture books instruments", "shop", ""),
         ("wear", "wore", "clothes", "out", "one"), ("fold", "folded", "clothes", "house", ""),
         ("wash", "washed", "clothes fruit vehicles animals", "home", ""),
         ("find", "found", "clothes books instruments animals", "house", ""),
         ("lose", "lost", "clothes books", "town", "past"), ("mend", "mended", "clothes", "house", ""),
         ("borrow", "borrowed", "clothes books vehicles instruments", "", "get"),
         ("pack", "packed", "clothes baked fruit books", "house", ""), ("bake", "baked", "baked", "bake", "make"),
         ("eat", "ate", "baked fruit", "kitchen", ""),
         ("bring", "brought", "baked fruit books instruments", "out", ""),
         ("share", "shared", "baked fruit", "share", ""), ("pick", "picked", "fruit", "farm", "make"),
         ("peel", "peeled", "fruit", "kitchen", ""), ("slice", "sliced", "baked fruit", "kitchen", ""),
         ("fix", "fixed", "vehicles buildings furniture instruments", "home", ""),
         ("paint", "painted", "vehicles buildings furniture", "home", ""),
         ("drive", "drove", "vehicles", "town", "one"), ("park", "parked", "vehicles", "town", "one"),
         ("build", "built", "buildings", "home", "make one"), ("move", "moved", "furniture", "move", ""),
         ("polish", "polished", "furniture vehicles instruments", "home", ""),
         ("read", "read", "books", "house", ""), ("play", "played", "instruments", "music", "one the"),
         ("tune", "tuned", "instruments", "music", "one the"), ("feed", "fed", "animals", "farm", ""),
         ("brush", "brushed", "animals", "farm", ""), ("follow", "followed", "animals", "farm", ""),
         ("visit", "visited", "people", "town", ""), ("call", "called", "people", "", ""),
         ("meet", "met", "people", "town", ""), ("help", "helped", "people", "home", ""),
         ("invite", "invited", "people", "invite", ""), ("thank", "thanked", "people", "", ""))
"""(base, past, categories it takes as object, place group, flags). Flags: "get" the object is
not yet the subject's (no "his"); "make" it is made or gathered (no "his", no worn adjectives);
"one" a single object ("wore her coat", not "wore three coats"); "the" a definite one ("played the
tuba"); "past" only in the past ("lost", never "please lose")."""
WORN_ADJECTIVES = frozenset(("old", "broken", "worn", "rusty", "borrowed", "crooked", "wobbly", "muddy", "antique"))
RELATIVE_SOURCES = ("bought", "found", "brought home", "ordered", "picked out", "sent us", "left here")
"""What someone did to a thing before: "the coat that her mother bought"."""
HABITS = {"buy": "baked fruit", "sell": "baked fruit books", "bake": "baked", "eat": "baked fruit",
          "play": "instruments", "feed": "animals", "brush": "animals", "wash": "vehicles animals",
          "polish": "vehicles instruments", "read": "books", "visit": "people", "call": "people",
          "help": "people", "drive": "vehicles", "wear": "clothes", "pick": "fruit"}
"""Verbs that make sense as a habit ("every Sunday"), with the categories they then take."""
PLACES = {
    "shop": ("at the market", "at the farmers market", "at the mall", "at a shop downtown", "at the flea market",
             "in Boston", "in Memphis", "at a yard sale", "from a man in Ohio"),
    "home": ("at home", "in the shed", "in the backyard", "on the porch", "in the garage", "by the window",
             "in the barn", "at the cabin", "in the basement"),
    "house": ("at home", "in the bedroom", "in the living room", "for the trip", "for the kids"),
    "kitchen": ("in the kitchen", "at home", "for lunch", "after school", "for breakfast"),
    "bake": ("for the party", "for the bake sale", "in the kitchen", "for the neighbors", "at home"),
    "out": ("to the party", "to the beach", "to work", "to the picnic", "to church", "to the museum",
            "to the office", "to the wedding", "to the football game"),
    "share": ("at the picnic", "with the neighbors", "with everyone", "at lunch", "with her brother"),
    "move": ("to the attic", "into the living room", "onto the porch", "upstairs", "to the basement"),
    "invite": ("to the party", "to dinner", "to the wedding", "to the picnic", "for lunch"),
    "farm": ("at the farm", "in the meadow", "behind the barn", "by the pond", "in the pasture", "near the orchard",
             "on the hillside"),
    "town": ("in Boston", "near the harbor", "at the bus stop", "by the movie theater", "in Vermont",
             "at the airport", "on Maple Avenue", "in Miami", "near the zoo", "in Buffalo"),
    "music": ("at the party", "in the park", "at church", "on the boardwalk", "at the wedding",
              "for the school band", "in the living room", "at the pub"),
    "": (),
}
LOCATIONS = {
    "clothes": ("in the closet", "on the bed", "by the front door", "in the suitcase"),
    "baked": ("on the kitchen table", "in the oven", "in the basket", "by the window"),
    "fruit": ("in the bowl", "on the kitchen table", "in the basket", "in the fridge"),
    "vehicles": ("in the driveway", "by the barn", "behind the garage", "on the bridge"),
    "furniture": ("in the hallway", "by the window", "on the porch", "in the attic"),
    "books": ("on the shelf", "under the bed", "on the kitchen table", "in the car"),
    "instruments": ("in the music room", "in the attic", "on the stage", "in the garage"),
    "animals": ("in the meadow", "by the pond", "in the barn", "in the backyard"),
}
"""Where things of each category are, for "There was a ... in the ..." sentences."""
PAST_TIMES = ("yesterday", "last night", "last week", "this morning", "last summer", "two days ago", "on Monday",
              "last February", "before breakfast", "after lunch", "on Friday evening", "before the long winter",
              "after the storm", "last Thursday", "over the weekend", "a few weeks ago", "at noon", "in November",
              "on her birthday", "at midnight")
HABIT_TIMES = ("every morning", "on Mondays", "every Sunday", "twice a week", "in the evening", "every summer",
               "after work", "before breakfast", "every Thursday", "on weekends", "at lunchtime", "every afternoon",
               "once a month", "as usual")
SOON_TIMES = ("tomorrow", "tomorrow morning", "tonight", "this afternoon", "before the party", "after lunch",
              "on Friday", "this weekend", "in a few minutes", "before dinner", "after school")
FUTURE_TIMES = SOON_TIMES + ("next week", "next month", "next spring", "on Monday", "next Thursday")
EVENTS = ("the rain stopped", "the sun came up", "the bus arrived", "the movie ended", "the baby fell asleep",
          "the power went out", "the snow melted", "the storm passed", "the phone rang", "the bakery opened",
          "the guests arrived", "the music began", "the market closed", "the boat came back", "the wind picked up",
          "the puppy woke up", "the mail came", "the fog lifted", "the show was over", "the water boiled")
CONJUNCTIONS = ("when", "after", "before", "as soon as", "while")
RELATIVE_FIXED = ("lives next door", "works at the bakery", "moved here in May", "owns the farm",
                  "runs the movie theater", "plays in a jazz band", "grew up in Vermont")
WH_WORDS, WH_HABIT_WORDS = ("why", "when", "where", "how"), ("why", "when", "how often")
