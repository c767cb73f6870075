package safety

// Word classes of the phrase rules. A word list may hold several
// languages; phrase rules are sequences of classes, so one rule covers
// every language whose word order it matches.
const (
	cIgnore      = iota // ignore, disregard, forget ... (before the object)
	cIgnorePost         // the same verbs where they follow the object (ja, de infinitive, zh, ru)
	cPrior              // previous, above, earlier ...
	cInstr              // instructions, rules, system prompt ...
	cInstrStrict        // instructions, directives, system prompt (no "rules")
	cYour               // your (second person possessive)
	cAll                // everything, all
	cTold               // you were told, so far ...
	cYouAreNow          // you are now, from now on you are, act as ...
	cActAsPost          // "として振る舞" and other post-positional "act as"
	cPersona            // DAN, developer mode, no restrictions ...
	cNew                // new, updated, real
	cSysPrompt          // system prompt, system message
	cReveal             // reveal, print, show, tell me
	cRevealPost         // 表示, 教えて (after the object)
	cAuthority          // system, developer, admin, OpenAI
	cFrom               // from
	cNeg                // do not, never, avoid
	cNegStrict          // do not, never (imperative negation only)
	cTell               // tell, inform, notify
	cTellNegPost        // 言わないで ("do not tell", after the object)
	cTheUser            // the user, the owner (a specific person)
	cUserOwner          // user, owner, human
	cAlready            // already
	cApproved           // approved, authorized
	cThis               // you, this, it
	cNoNeed             // no need to
	cAsk                // ask, confirm with
	cDecode             // decode
	cFollow             // follow, obey, execute
	cAppend             // append, add, include (into a URL)
	cAppendPost         // 追加 (after the object)
	cSensData           // conversation, chat history, secrets, passwords ...
	cURLWord            // url, link, query string, image
	cSend               // send, upload, forward
	cDest               // http, this url, my server
	cRepeat             // repeat, print, output
	cTextWords          // the text, the words, everything
	cAbove              // above, before this
	cStartYouAre        // starting with "You are"
	cFollowMine         // follow my instructions
	cInstead            // instead
	cReal               // real, actual (your real instructions)
	cSupersede          // supersedes
	cReceived           // you have received
	cJailbreak          // do anything now, DAN mode
	numClasses
)

// lexicon lists the words of every class. A trailing '*' makes a stem
// (the word may continue); otherwise the word must end where a word of the
// text ends. Words are normalised exactly like the scanned text, so
// accents, case and look-alike letters do not matter here.
var lexicon = [numClasses][]string{
	cIgnore: {
		// en
		"ignor*", "disregard*", "forget", "forget all", "overrid*", "bypass*", "discard*",
		"do not follow", "don't follow", "dont follow", "stop following", "no longer follow",
		"pay no attention to", "set aside", "throw out", "throw away", "abandon", "drop all",
		// es
		"olvid*", "omite", "omitid", "descarta*", "haz caso omiso de", "hagan caso omiso de",
		"no sigas", "deja de seguir", "pasa por alto", "desobedece*",
		// fr
		"oublie", "oubliez", "oublions", "ne tiens pas compte", "ne tenez pas compte",
		"fais abstraction", "faites abstraction", "ne suis pas", "ne suivez pas",
		"passe outre", "passez outre", "néglige", "négligez",
		// de
		"vergiss", "vergesst", "vergessen sie", "missachte*", "überspring*", "übergehe*", "verwirf",
		"hör auf", "setze außer kraft",
		// pt
		"esqueç*", "esquece", "esquecer", "desconsider*", "não siga", "nao siga", "deixe de seguir",
		"despreze", "descarte",
		// it
		"dimentica*", "non seguire", "trascura*", "non tenere conto", "lascia perdere", "scarta",
		"non considerare",
		// zh
		"忽略", "忽视", "无视", "忘记", "忘掉", "不要遵循", "不要遵守", "不要理会", "别管", "抛弃", "丢弃", "绕过",
		// ru
		"игнорир*", "проигнорир*", "забудь*", "забыть", "не обращай внимания на",
		"не обращайте внимания на", "отбрось*", "не следуй", "не следуйте", "пренебреги",
	},
	cIgnorePost: {
		"無視", "忘れ", "従わな", "従うな", "ignorieren", "vergessen", "missachten",
		"außer acht lassen", "игнорируй", "забудь", "忽略", "都忽略", "忘掉",
	},
	cPrior: {
		"previous*", "prior", "above", "earlier", "preceding", "foregoing", "original",
		"initial", "old", "existing", "former", "aforementioned", "above-mentioned",
		"anterior*", "previa*", "previo*", "precedente*", "originales", "iniciales", "de arriba",
		"précédent*", "antérieur*", "ci-dessus", "initiales", "d'origine",
		"vorherig*", "vorige*", "bisherig*", "obig*", "früher*", "frueher*", "ursprünglich*",
		"vorangegangen*", "vorhergehend*", "alten",
		"acima", "originais", "iniciais",
		"sopra", "di prima", "originali", "iniziali",
		"之前", "以前", "先前", "上面", "前面", "原来", "原有", "上述", "此前",
		"предыдущ*", "прежн*", "предшествующ*", "выше", "изначальн*", "исходн*", "первоначальн*",
		"前の", "これまで", "上記", "元の", "最初の", "今までの",
	},
	cInstr: {
		"instruction*", "rule", "rules", "ruleset", "guideline*", "directive*", "prompt", "prompts",
		"guardrail*", "restriction*", "constraint*", "programming", "policies", "safety guidelines",
		"system prompt", "system message", "training", "context",
		"instruccion*", "regla*", "directriz", "directrices", "indicaciones", "pautas", "normas",
		"règle*", "consigne*", "indications",
		"anweisung*", "instruktion*", "regeln", "vorgaben", "befehle", "richtlinie*", "anordnung*",
		"direktive*", "systemprompt", "system-prompt",
		"instruç*", "regras", "diretriz*", "orientaç*", "comandos",
		"istruzion*", "regole", "direttiv*", "indicazioni", "comandi",
		"指令", "指示", "规则", "命令", "提示", "设定", "约束", "系统提示", "提示词",
		"инструкци*", "указани*", "правил*", "команд*", "директив*", "промпт*", "установк*", "ограничени*",
		"ルール", "規則", "プロンプト", "設定", "制約",
	},
	cInstrStrict: {
		"instruction*", "directive*", "system prompt", "task", "instruccion*", "instruç*", "anweisung*",
		"istruzion*", "consigne*", "指令", "指示", "任务", "инструкци*", "указани*",
	},
	cYour: {
		"your", "you were given", "you've been given", "you have been given", "given to you",
		"tus", "sus", "tu", "tes", "vos", "ta", "ton", "deine*", "dir gegebenen",
		"suas", "seus", "seu", "sua", "teu", "tuas", "teus", "tue", "tuoi", "tua", "tuo", "vostre",
		"你的", "您的", "你所有的", "твои", "свои", "ваши", "твоих", "своих", "あなたの", "君の",
	},
	cAll: {
		"everything", "all", "anything", "whatever", "all of", "todo", "todas", "todos", "tout", "toutes", "tous",
		"alles", "alle", "tudo", "tutto", "tutte", "tutti", "一切", "所有", "全部", "всё", "все", "всех",
		"すべて", "全て",
	},
	cTold: {
		"you were told", "you've been told", "you have been told", "you were given",
		"so far", "until now", "before this", "before", "previously", "hasta ahora", "jusqu'ici",
		"bisher", "até agora", "finora", "之前", "до этого", "ранее", "これまで",
	},
	cYouAreNow: {
		"you are now", "you're now", "youre now", "from now on you are", "from now on you're",
		"from now on you will", "you will now act as", "you will now be", "you are no longer",
		"you're no longer", "act as", "pretend to be", "pretend you are", "pretend you're",
		"roleplay as", "role-play as", "you have been reprogrammed", "your new role is",
		"you are going to act as", "you will act as",
		"ahora eres", "a partir de ahora eres", "a partir de ahora serás", "desde ahora eres",
		"ya no eres", "actúa como", "finge ser", "finge que eres",
		"tu es maintenant", "vous êtes maintenant", "désormais tu es", "désormais vous êtes",
		"à partir de maintenant tu es", "tu n'es plus", "agis comme", "agissez comme",
		"fais semblant d'être",
		"du bist jetzt", "du bist nun", "du bist ab jetzt", "ab jetzt bist du", "ab sofort bist du",
		"von nun an bist du", "du bist nicht mehr", "tu so als wärst du", "verhalte dich wie",
		"agora você é", "você agora é", "a partir de agora você é", "você não é mais", "finja ser",
		"finja que é", "aja como", "atue como",
		"ora sei", "adesso sei", "da ora in poi sei", "d'ora in poi sei", "non sei più",
		"fingi di essere", "comportati come", "agisci come",
		"你现在是", "从现在开始你是", "从现在起你是", "你不再是", "你将扮演", "扮演", "假装你是", "假装自己是",
		"теперь ты", "ты теперь", "отныне ты", "с этого момента ты", "ты больше не", "притворись",
		"веди себя как", "представь что ты",
		"あなたは今", "今からあなたは", "これからあなたは", "あなたはもう",
	},
	cActAsPost: {"として振る舞", "になりきって", "のふりをして", "として行動"},
	cPersona: {
		"dan", "do anything now", "developer mode", "dev mode", "jailbr*", "unrestricted", "uncensored",
		"unfiltered", "unbound", "unchained", "no restrictions", "without restrictions", "no rules",
		"without rules", "no limits", "without limits", "no filters", "without filters",
		"no guidelines", "no ethical", "no morals", "without ethics", "evil", "free from", "freed from",
		"not bound by", "no longer bound", "no longer restricted", "no content policy", "god mode",
		"godmode",
		"sin restricciones", "sin reglas", "sin límites", "sin filtros", "sin censura",
		"modo desarrollador", "sin ética",
		"sans restriction*", "sans règles", "sans limite*", "sans filtre*", "sans censure",
		"mode développeur", "sans éthique",
		"ohne einschränkung*", "ohne einschraenkung*", "ohne regeln", "ohne grenzen", "ohne filter",
		"unzensiert*", "entwicklermodus", "uneingeschränkt*", "ohne beschränkung*",
		"sem restriç*", "sem regras", "sem limites", "sem filtros", "sem censura",
		"modo desenvolvedor",
		"senza restrizioni", "senza regole", "senza limiti", "senza filtri", "senza censura",
		"modalità sviluppatore",
		"没有限制", "没有任何限制", "不受限制", "无限制", "没有规则", "不受任何", "开发者模式", "无审查",
		"不受约束", "越狱", "没有道德",
		"без ограничений", "без правил", "без цензуры", "режим разработчика", "без фильтров",
		"без каких-либо ограничений", "неограниченн*",
		"制限のない", "制限なし", "ルールのない", "開発者モード", "検閲なし", "何でもできる",
	},
	cNew: {
		"new", "updated", "revised", "real", "actual", "true",
		"nuevas", "nuevos", "nueva", "verdaderas", "nouvelles", "nouveaux", "nouvelle", "vraies",
		"neue", "neuen", "neuer", "echten", "wahren", "novas", "novos", "nova", "verdadeiras",
		"nuove", "nuovi", "nuova", "vere", "新", "新的", "真正的", "новые", "новых", "новая",
		"настоящие", "新しい", "本当の",
	},
	cSysPrompt: {
		"system prompt", "system message", "system instructions", "systemprompt", "initial prompt",
		"hidden prompt", "hidden instructions", "initial instructions", "developer message",
		"developer instructions", "prompt del sistema", "prompt de sistema", "mensaje del sistema",
		"instrucciones del sistema", "prompt système", "prompt du système", "message système",
		"instructions système", "systemanweisung*", "systemnachricht", "system-prompt",
		"prompt do sistema", "mensagem do sistema", "instruções do sistema", "prompt di sistema",
		"messaggio di sistema", "istruzioni di sistema", "系统提示", "系统提示词", "系统指令",
		"系统消息", "系统设定", "системный промпт", "системные инструкции", "системное сообщение",
		"системную подсказку", "системный запрос", "システムプロンプト", "システムメッセージ", "システム指示",
	},
	cReveal: {
		"reveal*", "print", "show", "show me", "display", "output", "repeat", "tell me", "give me",
		"write out", "dump", "leak", "share", "what is", "what are", "what's", "expose", "disclose",
		"recite", "echo",
		"revela*", "muestra*", "muéstrame", "imprime*", "repite*", "dime", "comparte",
		"révèle*", "montre*", "affiche*", "répète*", "dis-moi", "donne-moi",
		"zeig*", "gib", "gib mir", "verrate*", "wiederhole*", "nenne", "was ist", "was sind",
		"revele", "mostre", "mostra*", "imprima", "repita", "me diga", "diga", "compartilhe",
		"rivela*", "stampa*", "ripeti*", "dimmi", "condividi",
		"显示", "输出", "告诉我", "透露", "打印", "重复", "泄露", "展示", "给我看", "说出",
		"покажи*", "выведи*", "раскрой*", "повтори*", "скажи", "напиши", "какой", "каков",
	},
	cRevealPost: {"表示", "教えて", "出力", "見せて", "開示", "繰り返"},
	cAuthority: {
		"system", "the system", "developer", "developers", "admin", "administrator", "openai",
		"anthropic", "hearth", "your creator", "your owner", "your developer", "the operator",
		"sistema", "desarrollador*", "administrador", "système", "développeur*", "administrateur",
		"entwickler*", "desenvolvedor*", "sviluppator*", "amministratore",
		"系统", "开发者", "管理员", "система", "системы", "разработчик*", "администратор*",
		"システム", "開発者", "管理者",
	},
	cFrom: {"from", "de", "del", "von", "vom", "da", "dal", "dalla", "do", "от", "来自"},
	cNeg: {
		"do not", "don't", "dont", "never", "avoid", "should not", "shouldn't", "must not", "mustn't",
		"no", "ne", "non", "nicht", "não", "nao", "не", "不要", "别", "不许", "nunca", "jamais", "niemals",
		"mai",
	},
	cNegStrict: {
		"do not", "don't", "dont", "never", "no le", "no les", "ne", "non", "não", "nao", "nunca",
		"не", "不要", "别", "绝不",
	},
	cTell: {
		"tell", "inform", "notify", "alert", "mention", "let", "warn",
		"digas", "informes", "avises", "menciones", "dis", "dites", "informe", "préviens", "mentionne",
		"conte", "diga", "avise", "mencione", "dire", "dica", "informare", "avvisare", "menzionare",
		"告诉", "通知", "提醒", "提及", "告知", "говори", "сообщай", "рассказывай", "упоминай", "говорите",
		"сообщайте",
	},
	cTellNegPost: {"言わないで", "知らせないで", "伝えないで", "教えないで", "言うな", "報告しないで"},
	cTheUser: {
		"the user", "the owner", "your user", "your owner", "the human", "your human",
		"al usuario", "el usuario", "à l'utilisateur", "l'utilisateur", "dem benutzer", "dem nutzer",
		"ao usuário", "o usuário", "all'utente", "l'utente", "用户", "主人", "пользователю",
		"владельцу", "ユーザー",
	},
	cUserOwner: {
		"user", "users", "owner", "human", "operator", "the person",
		"usuario", "dueño", "utilisateur", "propriétaire", "benutzer*", "nutzer*", "besitzer",
		"usuário", "dono", "utente", "proprietario",
		"用户", "主人", "使用者", "пользовател*", "владельц*", "хозяин*", "ユーザー", "利用者", "所有者",
	},
	cAlready: {"already", "ya", "déjà", "bereits", "schon", "já", "già", "已经", "已", "уже", "すでに", "既に"},
	cApproved: {
		"approv*", "authoriz*", "authoris*", "consented", "pre-approved", "preapproved", "signed off",
		"aprob*", "autoriz*", "approuv*", "autoris*", "genehmigt", "zugestimmt", "erlaubt",
		"freigegeben", "aprovou", "autorizou", "approvato", "autorizzato",
		"批准", "授权", "同意", "允许", "одобрил*", "разрешил*", "承認", "許可",
	},
	cThis: {
		"you", "this", "it", "these", "the following", "all of this", "esto", "esta", "ceci", "cela",
		"dies", "das", "isso", "questo", "это", "这", "此", "これ", "这个操作",
	},
	cNoNeed: {"no need to", "don't need to", "do not need to", "you needn't", "there is no need to"},
	cAsk:    {"ask", "confirm with", "check with", "get approval from", "consult"},
	cDecode: {
		"decode*", "decodifica*", "décode*", "dekodier*", "entschlüssel*", "decodifique",
		"解码", "декодируй*", "расшифруй*", "デコード",
	},
	cFollow: {
		"follow it", "follow them", "follow the instructions", "follow these instructions",
		"follow its instructions", "follow what it says", "obey", "obey it", "execute it",
		"execute them", "execute the result", "run it", "carry it out", "do what it says", "act on it",
		"comply",
		"síguelo", "sigue las instrucciones", "obedece", "ejecútalo", "suis-le", "suis les instructions",
		"obéis", "exécute-le", "befolge", "führe es aus", "siga as instruções", "execute-o", "obedeça",
		"seguilo", "esegui", "obbedisci", "执行", "按照", "遵循", "照做", "выполни*", "следуй",
		"従って", "実行して",
	},
	cAppend: {
		"append", "add", "include", "put", "encode", "insert", "attach", "embed", "concatenate",
		"replace", "substitute",
		"añade", "agrega", "incluye", "pon", "codifica", "ajoute", "inclus", "mets", "insère",
		"füge", "hänge", "kodiere", "adicione", "anexe", "inclua", "coloque", "codifique",
		"aggiungi", "includi", "inserisci", "metti",
		"附加", "添加", "加到", "放入", "嵌入", "编码", "加入", "добавь", "вставь", "включи",
		"закодируй", "прикрепи", "подставь",
	},
	cAppendPost: {"追加", "付け加", "含め", "埋め込", "付けて", "入れて"},
	cSensData: {
		"conversation*", "chat history", "chat log*", "previous messages", "earlier messages",
		"secrets", "secret", "password*", "passphrase*", "credential*", "memory", "memories",
		"user data", "personal data", "personal information", "private key*", "ssh key*",
		"system prompt", "environment variables", "env vars", "user's api key*", "user's token*",
		"user's session*", "user's cookie*", "user's email*", "user's files", "user's data",
		"user's notes", "user's private*", "user's personal*", "user's contacts",
		"conversación", "historial", "mensajes", "secretos", "contraseña*", "credenciales",
		"datos personales", "historique", "mot de passe", "mots de passe", "identifiants",
		"données personnelles", "gesprächsverlauf", "chatverlauf", "verlauf", "geheimnisse",
		"passwort*", "passwörter", "zugangsdaten", "persönlichen daten", "conversa", "histórico",
		"segredos", "senha*", "credenciais", "dados pessoais", "conversazione", "cronologia",
		"segreti", "credenziali", "dati personali",
		"对话", "聊天记录", "历史记录", "密钥", "密码", "凭证", "个人信息",
		"переписк*", "истори*", "секрет*", "пароль", "пароли", "учетные данные", "личные данные",
		"会話", "履歴", "秘密", "パスワード", "認証情報", "個人情報",
	},
	cURLWord: {
		"url", "urls", "link", "query", "query string", "querystring", "parameter", "image",
		"image url", "markdown image", "endpoint", "webhook",
		"enlace", "imagen", "lien", "adresse", "bild", "imagem", "endereço", "immagine", "indirizzo",
		"网址", "链接", "图片", "地址", "ссылк*", "адрес*", "изображени*", "картинк*",
		"リンク", "画像", "アドレス",
	},
	cSend: {
		"send*", "post", "upload*", "forward*", "transmit*", "exfiltrat*", "email", "e-mail", "leak",
		"deliver",
		"envía", "envia*", "manda*", "sube", "reenvía", "envoie*", "envoyez", "transmets",
		"sende*", "schicke*", "schick", "übermittle*", "envie", "mande", "encaminhe", "invia*",
		"inoltra*", "carica",
		"发送", "发到", "上传", "转发", "传送", "отправь*", "перешли*", "загрузи*", "送信", "送って", "転送",
		"アップロード",
	},
	cDest: {
		"http", "https", "www", "this url", "this address", "this endpoint", "this webhook",
		"this link", "this server", "this email address", "the following url",
		"the following address", "the following endpoint", "my server", "my webhook",
		"my email", "my endpoint", "attacker",
		"esta url", "esta dirección", "este enlace", "mi servidor", "cette url", "cette adresse",
		"mon serveur", "diese url", "diese adresse", "meinen server", "este endereço",
		"meu servidor", "questo url", "questo indirizzo", "mio server",
		"这个网址", "这个地址", "这个链接", "我的服务器", "этот адрес", "эту ссылку", "мой сервер",
		"このurl", "このアドレス", "私のサーバー",
	},
	cRepeat: {
		"repeat", "print", "output", "recite", "echo", "repite", "répète", "wiederhole", "repita",
		"ripeti", "重复", "повтори", "繰り返",
	},
	cTextWords: {
		"the text", "the words", "everything", "all text", "all of the text", "the content",
		"all the text", "the instructions", "every word",
	},
	cAbove: {
		"above", "before this", "preceding", "prior to this", "at the beginning", "verbatim",
		"word for word",
	},
	cStartYouAre: {
		"starting with you are", "beginning with you are", "starting from you are",
		"that starts with you are",
	},
	cFollowMine: {
		"follow my instructions", "obey my instructions", "follow my orders", "follow my commands",
		"do what i say", "listen to me", "follow these instructions", "follow the instructions below",
		"sigue mis instrucciones", "suis mes instructions", "befolge meine anweisungen",
		"siga minhas instruções", "segui le mie istruzioni", "听我的指令", "按我说的做",
		"следуй моим инструкциям", "私の指示に従",
	},
	cInstead: {"instead", "en su lugar", "à la place", "stattdessen", "em vez disso", "invece", "而是", "вместо этого", "代わりに"},
	cReal: {"real", "actual", "true", "verdaderas", "verdadera", "vraies", "véritables", "echten", "wahren",
		"verdadeiras", "vere", "真正的", "настоящие", "истинные", "本当の"},
	cSupersede: {"supersede*", "replaces all", "overrides all", "takes precedence over all"},
	cReceived:  {"you have received", "you received", "you were given", "given to you", "you've been given", "you got"},
	cJailbreak: {
		"do anything now", "dan mode", "jailbreak mode", "developer mode output",
		"developer mode enabled", "anti-dan", "stan mode", "evil confidant",
	},
}
