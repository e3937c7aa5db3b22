// The emoji the picker offers (for the message box and for reactions), by
// group, each with the words it is found by; and whether a text typed or
// pasted into the picker's search is itself an emoji (any emoji can be a
// reaction, not only these).

/** One emoji and the words it is found by. */
export type EmojiEntry = readonly [emoji: string, words: string];

export interface EmojiGroup {
  name: string;
  entries: readonly EmojiEntry[];
}

/** Longest reaction the core sends, in bytes of UTF-8 (its `MAX_REACTION_LEN`). */
export const MAX_REACTION_BYTES = 32;

function group(name: string, list: string): EmojiGroup {
  const entries = list
    .trim()
    .split("\n")
    .map((line): EmojiEntry => {
      const [emoji = "", ...words] = line.trim().split(" ");
      return [emoji, words.join(" ")];
    });
  return { name, entries };
}

export const EMOJI_GROUPS: readonly EmojiGroup[] = [
  group(
    "Smileys",
    `
😀 grinning smile happy
😃 smiley happy joy
😄 smile happy laugh
😁 grin beaming
😆 laughing squint
😅 sweat smile relief
😂 joy tears laughing
🤣 rolling floor laughing rofl
🙂 slightly smiling
🙃 upside down silly
😉 wink
😊 blush smiling
😇 innocent halo angel
🥰 smiling hearts love
😍 heart eyes love
🤩 star struck excited
😘 kiss blowing
😋 yum delicious
😛 tongue
😜 winking tongue crazy
🤪 zany crazy
😝 squinting tongue
🤑 money mouth
🤗 hug hugging
🤭 hand over mouth giggle
🤫 shush quiet
🤔 thinking hmm
🤐 zipper mouth secret
🤨 raised eyebrow skeptical
😐 neutral
😑 expressionless
😶 no mouth speechless
😏 smirk
😒 unamused
🙄 eye roll
😬 grimace awkward
😌 relieved calm
😔 pensive sad
😪 sleepy
😴 sleeping zzz
😷 mask sick
🤒 thermometer ill fever
🤕 bandage hurt
🤢 nauseated sick
🤮 vomiting
🥵 hot sweating
🥶 cold freezing
🥴 woozy dizzy
😵 dizzy
🤯 exploding head mind blown
🤠 cowboy
🥳 party celebration
😎 sunglasses cool
🤓 nerd glasses
🧐 monocle curious
😕 confused
😟 worried
🙁 frowning
😮 open mouth surprised wow
😯 hushed
😲 astonished shocked
😳 flushed embarrassed
🥺 pleading puppy eyes
😦 frowning open mouth
😧 anguished
😨 fearful scared
😰 anxious sweat
😥 sad relieved
😢 crying tear sad
😭 sobbing loudly crying
😱 screaming fear
😖 confounded
😣 persevering
😞 disappointed
😓 downcast sweat
😩 weary tired
😫 tired
🥱 yawning bored
😤 triumph huff
😡 pouting angry rage
😠 angry
🤬 cursing swearing
😈 smiling devil
💀 skull dead
💩 poo
🤡 clown
👻 ghost
👽 alien
🤖 robot
`,
  ),
  group(
    "People",
    `
👋 waving hello bye
🤚 raised back of hand
✋ raised hand stop high five
🖖 vulcan salute
👌 ok hand perfect
🤌 pinched fingers
✌️ victory peace
🤞 fingers crossed luck
🤟 love you gesture
🤘 horns rock
🤙 call me
👈 pointing left
👉 pointing right
👆 pointing up
👇 pointing down
☝️ index up
👍 thumbs up yes like
👎 thumbs down no dislike
✊ raised fist
👊 fist bump punch
👏 clapping applause
🙌 raising hands hooray
👐 open hands
🤲 palms up
🤝 handshake deal
🙏 folded hands please thanks pray
✍️ writing
💪 flexed biceps strong
🧠 brain smart
👀 eyes look
👁️ eye
👶 baby
🧒 child
👦 boy
👧 girl
🧑 person
👨 man
👩 woman
🧓 older person
🤷 shrug
🤦 facepalm
🙋 raising hand
🙇 bowing
💃 dancing woman
🕺 dancing man
🏃 running
🚶 walking
👪 family
`,
  ),
  group(
    "Hearts",
    `
❤️ red heart love
🧡 orange heart
💛 yellow heart
💚 green heart
💙 blue heart
💜 purple heart
🖤 black heart
🤍 white heart
🤎 brown heart
💔 broken heart
❣️ heart exclamation
💕 two hearts
💞 revolving hearts
💓 beating heart
💗 growing heart
💖 sparkling heart
💘 heart arrow cupid
💝 heart ribbon gift
💋 kiss mark
💯 hundred points perfect
💢 anger
💥 collision boom
💫 dizzy star
💦 sweat droplets
💨 dashing away
💬 speech balloon
💭 thought balloon
💤 zzz sleep
`,
  ),
  group(
    "Animals & nature",
    `
🐶 dog puppy
🐱 cat kitten
🐭 mouse
🐹 hamster
🐰 rabbit bunny
🦊 fox
🐻 bear
🐼 panda
🐨 koala
🐯 tiger
🦁 lion
🐮 cow
🐷 pig
🐸 frog
🐵 monkey
🙈 see no evil monkey
🙉 hear no evil monkey
🙊 speak no evil monkey
🐔 chicken
🐧 penguin
🐦 bird
🦆 duck
🦉 owl
🐝 bee
🦋 butterfly
🐢 turtle
🐍 snake
🐙 octopus
🐟 fish
🐬 dolphin
🐳 whale
🌸 cherry blossom flower
🌹 rose
🌻 sunflower
🌷 tulip
🌱 seedling
🌲 evergreen tree
🍀 four leaf clover luck
🍁 maple leaf autumn
🌍 globe earth world
🌙 moon night
⭐ star
🌟 glowing star
✨ sparkles
⚡ lightning
🔥 fire hot lit
🌈 rainbow
☀️ sun sunny
⛅ sun behind cloud
🌧️ rain
❄️ snowflake snow cold
🌊 wave water
`,
  ),
  group(
    "Food & drink",
    `
🍏 green apple
🍎 red apple
🍐 pear
🍊 orange tangerine
🍋 lemon
🍌 banana
🍉 watermelon
🍇 grapes
🍓 strawberry
🍒 cherries
🍑 peach
🥭 mango
🍍 pineapple
🥥 coconut
🥑 avocado
🍅 tomato
🥕 carrot
🌽 corn
🌶️ hot pepper
🥐 croissant
🍞 bread
🧀 cheese
🥚 egg
🍳 cooking
🥞 pancakes
🥓 bacon
🍔 hamburger burger
🍟 fries
🍕 pizza
🌭 hot dog
🥪 sandwich
🌮 taco
🍝 spaghetti pasta
🍜 noodles ramen
🍣 sushi
🍦 ice cream
🍩 doughnut
🍪 cookie
🎂 birthday cake
🍰 cake
🧁 cupcake
🍫 chocolate
🍿 popcorn
☕ coffee tea hot
🍵 tea
🍺 beer
🍻 cheers beers
🥂 clinking glasses toast
🍷 wine
🍸 cocktail
🥤 cup straw soda
`,
  ),
  group(
    "Activities & travel",
    `
⚽ soccer football
🏀 basketball
🏈 american football
⚾ baseball
🎾 tennis
🏐 volleyball
🎱 pool billiards
🏓 ping pong
🏸 badminton
⛳ golf
🎣 fishing
🎿 ski
🏆 trophy win
🥇 gold medal first
🎉 party popper tada celebrate
🎊 confetti
🎈 balloon
🎁 gift present
🎄 christmas tree
🎃 jack o lantern halloween
🎮 video game
🎲 die dice
🎯 direct hit bullseye
🎵 music note
🎶 notes music
🎸 guitar
🎤 microphone sing
🎬 clapper film
📷 camera photo
🚗 car
🚕 taxi
🚌 bus
🚲 bicycle bike
🚆 train
✈️ airplane flight
🚀 rocket launch
⛵ sailboat
🏠 house home
🏢 office building
🏖️ beach
🏔️ mountain
🗺️ map
`,
  ),
  group(
    "Objects & symbols",
    `
⌚ watch
📱 phone mobile
💻 laptop computer
⌨️ keyboard
🖨️ printer
💡 light bulb idea
🔦 flashlight
📚 books
📖 open book read
✏️ pencil
📝 memo note
📎 paperclip
📌 pushpin
📅 calendar date
📈 chart increasing
📉 chart decreasing
🔒 locked
🔓 unlocked
🔑 key
🔔 bell
🔕 no bell mute
⏰ alarm clock
⏳ hourglass waiting
💰 money bag
💸 money wings
✉️ envelope mail
📦 package box
🛒 shopping cart
💊 pill
🩺 stethoscope
🧹 broom
✅ check mark done yes
☑️ check box
✔️ check
❌ cross no wrong
❎ cross mark button
➕ plus
➖ minus
❓ question
❗ exclamation
‼️ double exclamation
⚠️ warning
🚫 prohibited no
⛔ no entry
🆗 ok button
🆕 new
🆒 cool button
🔴 red circle
🟢 green circle
🔵 blue circle
⬆️ up arrow
⬇️ down arrow
➡️ right arrow
⬅️ left arrow
🔁 repeat
♻️ recycling
`,
  ),
];

/** Every emoji the picker offers, once each. */
export const ALL_EMOJI: readonly EmojiEntry[] = EMOJI_GROUPS.flatMap((group) => group.entries);

/** The offered emoji whose words start with each word of `query` (any case). */
export function searchEmoji(query: string): EmojiEntry[] {
  const terms = query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [...ALL_EMOJI];
  return ALL_EMOJI.filter(([, words]) => {
    const own = words.split(" ");
    return terms.every((term) => own.some((word) => word.startsWith(term)));
  });
}

const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}/u;
const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\p{Emoji_Modifier}|\u200d|\ufe0f)+$/u;

/**
 * `text` as one reaction when it is an emoji (or a short sequence of them, a
 * flag or a joined family) that the core accepts; else null. Letters, digits
 * alone and spaces are not emoji.
 */
export function asReaction(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === "" || !PICTOGRAPH.test(trimmed) || !EMOJI_ONLY.test(trimmed)) return null;
  if (new TextEncoder().encode(trimmed).length > MAX_REACTION_BYTES) return null;
  return trimmed;
}
